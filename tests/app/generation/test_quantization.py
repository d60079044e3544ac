"""Int8 generator weights: per-token int8 products, made once into the cache, reused, rebuilt when damaged."""
from __future__ import annotations

import torch

from app.generation.model_files import model_directory
from app.generation.quantization import Int8Linear, load_int8_model, quantized_cache_dir


def _quantized_linears(model) -> int:
    return sum(1 for m in model.modules() if isinstance(m, Int8Linear))


def test_the_default_generator_runs_int8_linear_layers(generator):
    assert generator.precision == "int8"
    assert _quantized_linears(generator.model) > 0
    assert not any(isinstance(m, torch.nn.Linear) for m in generator.model.modules())


def test_int8_weights_are_cached_once_and_reused(generator, settings):
    directory = model_directory("smollm2-135m", settings.cache_dir)
    cached = quantized_cache_dir(directory, settings.cache_dir) / "model.safetensors"
    assert cached.is_file()  # the session's generator made it
    made = cached.stat().st_mtime_ns
    again = load_int8_model(directory, settings.cache_dir)
    assert cached.stat().st_mtime_ns == made  # read back, not quantized again
    assert _quantized_linears(again) == _quantized_linears(generator.model)
    prompt = generator.tokenizer("The lighthouse stands 41 metres tall.", return_tensors="pt")["input_ids"]
    with torch.inference_mode():  # the copy read back computes exactly what the quantized model computed
        assert torch.equal(again(input_ids=prompt).logits, generator.model(input_ids=prompt).logits)


def test_a_damaged_int8_cache_is_rebuilt_not_fatal(tmp_path, settings):
    directory = model_directory("smollm2-135m", settings.cache_dir)
    cached = quantized_cache_dir(directory, tmp_path)
    cached.mkdir(parents=True)
    (cached / "int8.json").write_text("{}")
    (cached / "model.safetensors").write_bytes(b"not safetensors")
    model = load_int8_model(directory, tmp_path)
    assert _quantized_linears(model) > 0
    assert (cached / "model.safetensors").stat().st_size > 1000
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".")], "no staging left behind"


def test_a_cache_that_cannot_be_written_still_serves(tmp_path, settings):
    directory = model_directory("smollm2-135m", settings.cache_dir)
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    model = load_int8_model(directory, not_a_folder)
    assert _quantized_linears(model) > 0


def test_each_token_is_quantized_on_its_own():
    """A row's output does not depend on the other rows it is computed with (per-token scales, exact integer sums)."""
    torch.manual_seed(0)
    layer = Int8Linear.from_linear(torch.nn.Linear(64, 32))
    row = torch.randn(1, 64)
    loud = torch.randn(5, 64) * 1000  # rows whose scale would swamp `row` if the batch shared one
    assert torch.equal(layer(torch.cat([row, loud]))[:1], layer(row))
    exact = torch.nn.functional.linear(row, layer.weight_int8.float() * layer.weight_scale[:, None], layer.bias)
    assert torch.allclose(layer(row), exact, rtol=0.05, atol=0.05)  # close to the float product of its weights
