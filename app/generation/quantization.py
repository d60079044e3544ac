"""Int8 weights for the generator on a CPU: its linear layers as int8 matrix products, cached on disk.

Each `nn.Linear` becomes an `Int8Linear`: weights int8 with one scale per output channel, and each
input row (token) quantized to int8 with its own scale just before an integer product (the kernel this
CPU runs fastest: `app/generation/int8_kernels.py`). On a CPU with VNNI that makes prefill and decoding
several times faster than float32 at the same answer quality (bench/RESULTS.md). A scale per
token, rather than one per batch, keeps the few tokens with huge activations (Qwen2.5's MLP inputs
reach 2,900x their mean) from rounding every other token to nothing, and makes a row's product
independent of the rows it is batched with (integer sums are exact).

The embedding table is kept in float16 (`Float16Embedding`): half the bytes of float32, rows widened
back to float32 when looked up (a relative rounding of 5e-4, far below the GGUF file's own 4-bit steps).

The int8 copy is made once, in memory, from the GGUF file (de-quantized) or model directory, and saved
with its config and tokenizer as one cache folder; no float32 copy is written. Later starts memory-map
it: loading does no computation.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

import torch

from app.generation.int8_kernels import KernelSetting, chosen_kernel, fbgemm_pack, fbgemm_product, int_mm_product
from app.generation.model_files import SCHEME, int8_directory

log = logging.getLogger(__name__)


class Int8Linear(torch.nn.Module):
    """`y = x W^T + b` with W int8 per output channel and x quantized per row; drop-in for `nn.Linear`."""

    def __init__(self, in_features: int, out_features: int, bias: bool) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("weight_int8", torch.empty(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.empty(out_features, dtype=torch.float32))
        self.register_buffer("bias", torch.empty(out_features, dtype=torch.float32) if bias else None)

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear) -> "Int8Linear":
        weight = linear.weight.detach().float()
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None)
        scale = weight.abs().amax(dim=1).clamp_min(1e-8) / 127.0
        layer.weight_int8.copy_(torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8))
        layer.weight_scale.copy_(scale)
        if linear.bias is not None:
            layer.bias.copy_(linear.bias.detach().float())
        return layer

    packed = None  # FBGEMM's packed weights, once `pack_for_fbgemm` has run; else `torch._int_mm`

    def pack_for_fbgemm(self) -> None:
        self.packed = fbgemm_pack(self.weight_int8, self.weight_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).float()
        if self.packed is not None:
            out = fbgemm_product(rows, self.packed)
        else:
            out = int_mm_product(rows, self.weight_int8, self.weight_scale)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Float16Embedding(torch.nn.Module):
    """An embedding table stored in float16 (a buffer, so `model.dtype` stays float32); rows come out float32."""

    def __init__(self, num_embeddings: int, embedding_dim: int) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.register_buffer("weight_f16", torch.empty(num_embeddings, embedding_dim, dtype=torch.float16))

    @classmethod
    def from_embedding(cls, embedding: torch.nn.Embedding) -> "Float16Embedding":
        layer = cls(embedding.num_embeddings, embedding.embedding_dim)
        layer.weight_f16.copy_(embedding.weight.detach())
        return layer

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.embedding(input_ids, self.weight_f16).float()

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, dtype=float16"


def quantize_int8(model):
    """`model`, in place: every `nn.Linear` an `Int8Linear`, the input embedding table a `Float16Embedding`."""
    targets = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]
    with torch.no_grad():
        for name in targets:
            _replace(model, name, Int8Linear.from_linear(model.get_submodule(name)))
        if getattr(model.config, "tie_word_embeddings", False) and "lm_head" in targets:
            model.config.tie_word_embeddings = False  # the head has its own int8 copy now
        embedding = model.get_input_embeddings()
        if isinstance(embedding, torch.nn.Embedding):
            _replace(model, _name_of(model, embedding), Float16Embedding.from_embedding(embedding))
    return model


def _name_of(model, module: torch.nn.Module) -> str:
    return next(name for name, candidate in model.named_modules() if candidate is module)


def _replace(model, name: str, module: torch.nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def load_int8_model(model: str, cache_dir: Path, kernel: KernelSetting = "auto"):
    """(causal LM with int8 linear layers, its tokenizer) for `RAGQA_MODEL`: memory-mapped from the cache,
    or made once in memory from the GGUF file or model directory and cached (no float32 copy on disk);
    its layers set up for `kernel` (`RAGQA_INT8_KERNEL`)."""
    loaded, tokenizer = _load_int8_model(model, cache_dir)
    if chosen_kernel(kernel) == "fbgemm":
        started = time.perf_counter()
        layers = [layer for layer in loaded.modules() if isinstance(layer, Int8Linear)]
        # Packing releases the GIL: one daemon thread per torch thread. Daemon, so a SIGTERM during a start is not held
        # up until every layer is packed (a pool's workers are joined at exit).
        count = max(1, torch.get_num_threads())
        workers = [threading.Thread(target=_pack_all, args=(layers[i::count],), daemon=True) for i in range(count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        log.info("int8 weights packed for FBGEMM in %.1f s", time.perf_counter() - started)
    return loaded, tokenizer


def _pack_all(layers: list) -> None:
    for layer in layers:
        layer.pack_for_fbgemm()


def _load_int8_model(model: str, cache_dir: Path):
    from transformers import AutoTokenizer

    cached = int8_directory(model, cache_dir)
    if (cached / "int8.json").is_file():
        try:
            return _load_cached(cached), AutoTokenizer.from_pretrained(cached)
        except Exception as exc:  # a damaged or foreign copy: rebuild it
            log.warning("int8 cache %s unreadable (%s); quantizing again", cached.name, exc)
    from app.generation.model_files import load_float_model

    log.warning("quantizing %s to int8 once, into %s", model, cached)
    float_model, tokenizer = load_float_model(model, cache_dir)
    quantized = quantize_int8(float_model.eval())
    del float_model
    if not _save(quantized, tokenizer, cached):
        return quantized, tokenizer  # a read-only cache still serves, only slower to start
    del quantized  # the saved copy, memory-mapped, is shared with the page cache instead of held twice
    return _load_cached(cached), AutoTokenizer.from_pretrained(cached)


def _save(model, tokenizer, cached: Path) -> bool:
    """Weights, config and tokenizer into `cached`, atomically. False if the cache cannot be written."""
    from safetensors.torch import save_file

    int8_layers = sorted(name for name, module in model.named_modules() if isinstance(module, Int8Linear))
    float16_layers = sorted(name for name, module in model.named_modules() if isinstance(module, Float16Embedding))
    # Every tensor, non-persistent buffers (rotary frequencies) included, so loading computes nothing.
    tensors = {name: t.contiguous() for name, t in [*model.named_parameters(), *model.named_buffers()]}
    staging = cached.with_name(f".{cached.name}.tmp-{os.getpid()}")
    try:
        staging.mkdir(parents=True, exist_ok=True)
        save_file(tensors, staging / "model.safetensors")
        os.chmod(staging / "model.safetensors", 0o644)  # written owner-only; other users (a container's) read it too
        model.config.save_pretrained(staging)
        if model.generation_config is not None:
            model.generation_config.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / "int8.json").write_text(json.dumps({"scheme": SCHEME, "int8_layers": int8_layers,
                                                       "float16_layers": float16_layers}))
        shutil.rmtree(cached, ignore_errors=True)  # a damaged copy being rebuilt
        os.replace(staging, cached)  # atomic: a half-written cache is never read
        return True
    except OSError as exc:
        log.warning("could not cache the int8 model in %s: %s", cached.parent, exc)
        shutil.rmtree(staging, ignore_errors=True)
        return False


def _load_cached(cached: Path):
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    meta = json.loads((cached / "int8.json").read_text())
    if meta.get("scheme") != SCHEME:
        raise ValueError(f"made with scheme {meta.get('scheme')!r}, not {SCHEME!r}")
    config = AutoConfig.from_pretrained(cached)
    with torch.device("meta"):  # the skeleton allocates nothing; every tensor comes from the file
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        for name in meta["int8_layers"]:
            linear = model.get_submodule(name)
            _replace(model, name, Int8Linear(linear.in_features, linear.out_features, linear.bias is not None))
        for name in meta["float16_layers"]:
            embedding = model.get_submodule(name)
            _replace(model, name, Float16Embedding(embedding.num_embeddings, embedding.embedding_dim))
    tensors = load_file(cached / "model.safetensors")  # memory-mapped
    for name, tensor in tensors.items():
        owner, _, attribute = name.rpartition(".")
        module = model.get_submodule(owner)
        if attribute in module._parameters:
            module._parameters[attribute] = torch.nn.Parameter(tensor, requires_grad=False)
        else:
            module._buffers[attribute] = tensor
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise ValueError(f"{len(left)} tensors missing, such as {left[0]}")
    model.generation_config = _generation_config(cached, model.generation_config)
    return model.eval()


def _generation_config(cached: Path, default):
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(cached)
    except OSError:  # the source had none
        return default
