"""Int8 generator weights: per-token int8 products, made once in memory into the cache (no float32 copy), reused,
rebuilt when damaged."""
from __future__ import annotations

import pytest
import torch

from app.generation import int8_kernels
from app.generation.int8_kernels import chosen_kernel, fastest_kernel
from app.generation.model_files import PROFILES, Profile, int8_directory, profile_file
from app.generation.quantization import Float16Embedding, Int8Linear, load_int8_model


def _quantized_linears(model) -> int:
    return sum(1 for m in model.modules() if isinstance(m, Int8Linear))


def test_the_default_generator_runs_int8_linear_layers(generator):
    assert generator.precision == "int8"
    assert _quantized_linears(generator.model) > 0
    assert not any(isinstance(m, torch.nn.Linear) for m in generator.model.modules())
    assert isinstance(generator.model.get_input_embeddings(), Float16Embedding)
    assert generator.model.dtype == torch.float32  # the table is float16, the computation is not


def test_int8_weights_are_cached_once_and_reused(generator, settings):
    cached = int8_directory("smollm2-135m", settings.cache_dir) / "model.safetensors"
    assert cached.is_file()  # the session's generator made it
    made = cached.stat().st_mtime_ns
    again, tokenizer = load_int8_model("smollm2-135m", settings.cache_dir)
    assert cached.stat().st_mtime_ns == made  # read back, not quantized again
    assert _quantized_linears(again) == _quantized_linears(generator.model)
    prompt = tokenizer("The lighthouse stands 41 metres tall.", return_tensors="pt")["input_ids"]
    with torch.inference_mode():  # the copy read back computes exactly what the quantized model computed
        assert torch.equal(again(input_ids=prompt).logits, generator.model(input_ids=prompt).logits)


def test_only_the_int8_copy_is_written(tmp_path):
    """The GGUF file is de-quantized in memory: the cache holds the int8 copy with its tokenizer, no float32 copy."""
    model, tokenizer = load_int8_model("smollm2-135m", tmp_path)
    written = sorted(p.relative_to(tmp_path).parts[:2] for p in tmp_path.rglob("*") if p.is_file())
    assert {folder for _, folder in written} == {int8_directory("smollm2-135m", tmp_path).name}
    weights = int8_directory("smollm2-135m", tmp_path) / "model.safetensors"
    parameters = sum(t.numel() for t in [*model.parameters(), *model.buffers()])
    assert weights.stat().st_size < 2.2 * parameters, "about a byte per weight, not four"
    assert tokenizer("hello")["input_ids"]


def test_a_profile_in_parts_is_assembled_only_for_the_conversion(tmp_path):
    parts = PROFILES["smollm2-135m"].parts * 2
    with profile_file(Profile(parts, "twice.gguf"), tmp_path) as assembled:
        assert assembled.stat().st_size > 0
    assert not assembled.exists(), "the packages hold the parts: the assembled file is not kept"


def test_a_damaged_int8_cache_is_rebuilt_not_fatal(tmp_path):
    cached = int8_directory("smollm2-135m", tmp_path)
    cached.mkdir(parents=True)
    (cached / "int8.json").write_text("{}")
    (cached / "model.safetensors").write_bytes(b"not safetensors")
    model, _ = load_int8_model("smollm2-135m", tmp_path)
    assert _quantized_linears(model) > 0
    assert (cached / "model.safetensors").stat().st_size > 1000
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".")], "no staging left behind"


def test_a_cache_that_cannot_be_written_still_serves(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    model, _ = load_int8_model("smollm2-135m", not_a_folder)
    assert _quantized_linears(model) > 0


@pytest.mark.parametrize("kernel", ["int_mm", "fbgemm"])
def test_each_token_is_quantized_on_its_own(kernel):
    """A row's output does not depend on the other rows it is computed with (per-token scales, exact integer sums),
    whichever integer product the CPU runs."""
    torch.manual_seed(0)
    layer = Int8Linear.from_linear(torch.nn.Linear(64, 32))
    if kernel == "fbgemm":
        layer.pack_for_fbgemm()
    row = torch.randn(1, 64)
    loud = torch.randn(5, 64) * 1000  # rows whose scale would swamp `row` if the batch shared one
    assert torch.equal(layer(torch.cat([row, loud]))[:1], layer(row))
    exact = torch.nn.functional.linear(row, layer.weight_int8.float() * layer.weight_scale[:, None], layer.bias)
    assert torch.allclose(layer(row), exact, rtol=0.05, atol=0.05)  # close to the float product of its weights


def test_the_float16_embedding_table_looks_up_float32_rows():
    table = torch.nn.Embedding(10, 4)
    half = Float16Embedding.from_embedding(table)
    ids = torch.tensor([[3, 7]])
    assert half(ids).dtype == torch.float32
    assert torch.allclose(half(ids), table(ids), rtol=1e-3, atol=1e-4)


def test_the_int8_kernel_is_the_one_asked_for_or_the_faster_one_here(tmp_path, generator):
    assert chosen_kernel("int_mm") == "int_mm" and chosen_kernel("fbgemm") == "fbgemm"
    assert chosen_kernel("auto") == fastest_kernel()
    packed = [m.packed is not None for m in generator.model.modules() if isinstance(m, Int8Linear)]
    assert all(packed) if fastest_kernel() == "fbgemm" else not any(packed)  # the session's model runs the fast one


def test_fbgemm_asked_for_where_torch_has_none_is_a_clear_error(monkeypatch):
    # An ARM build of torch has no FBGEMM engine; this machine's has, so its check stands in for one.
    monkeypatch.setattr(int8_kernels, "fbgemm_available", lambda: False)
    with pytest.raises(ValueError, match="no FBGEMM engine .*use auto or int_mm"):
        chosen_kernel("fbgemm")
    assert chosen_kernel("int_mm") == "int_mm"


def test_both_int8_kernels_compute_what_the_int8_weights_say(generator, settings):
    """The small model's next-token scores for a prompt, with FBGEMM's product and with `torch._int_mm`, against the
    same int8 weights multiplied in float: both close as distributions of the next token."""
    model, tokenizer = load_int8_model("smollm2-135m", settings.cache_dir, "int_mm")
    prompt = tokenizer("The Varnholm lighthouse stands 41 metres tall on the northern cliff. How tall is the "
                       "Varnholm lighthouse? It is", return_tensors="pt")["input_ids"]
    linears = [m for m in model.modules() if isinstance(m, Int8Linear)]
    with torch.inference_mode():
        by_int_mm = model(input_ids=prompt).logits[0, -1]
        for layer in linears:
            layer.pack_for_fbgemm()
        by_fbgemm = model(input_ids=prompt).logits[0, -1]
        for layer in linears:  # the weights in float: the product both kernels approximate
            layer.packed = None
            layer.weight_int8, layer.weight_scale = layer.weight_int8.float() * layer.weight_scale[:, None], None
        original = Int8Linear.forward
        try:
            Int8Linear.forward = lambda self, x: torch.nn.functional.linear(x, self.weight_int8, self.bias)
            exact = model(input_ids=prompt).logits[0, -1]
        finally:
            Int8Linear.forward = original
    # Rounding each token's activations moves this small model's next-token distribution by ~0.1 either way (0.11
    # and 0.14 measured); a kernel that mis-scales or overflows moves it to another distribution altogether (~1).
    assert _distance(by_int_mm, exact) < 0.25
    assert _distance(by_fbgemm, exact) < 0.25


def _distance(scores: torch.Tensor, exact: torch.Tensor) -> float:
    """Total variation distance between the next-token distributions: 0 alike, 1 disjoint."""
    return float((scores.softmax(-1) - exact.softmax(-1)).abs().sum() / 2)
