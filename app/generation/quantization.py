"""Int8 weights for the generator on a CPU: its linear layers as int8 matrix products, cached on disk.

Each `nn.Linear` becomes an `Int8Linear`: weights int8 with one scale per output channel, and each
input row (token) quantized to int8 with its own scale just before an exact integer product
(`torch._int_mm`, oneDNN's VNNI kernels here). On these 2 cores that makes prefill and decoding
several times faster than float32 at the same answer quality (bench/RESULTS.md). A scale per
token, rather than one per batch, keeps the few tokens with huge activations (Qwen2.5's MLP inputs
reach 2,900x their mean) from rounding every other token to nothing, and makes a row's product
independent of the rows it is batched with (integer sums are exact).

The quantized weights are saved once as safetensors next to the converted model and later starts
memory-map them: loading does no computation.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import torch

log = logging.getLogger(__name__)

# Names the recipe below; part of every cache key, so changing the recipe re-quantizes.
SCHEME = "int8-per-token-v1"


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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features).float()
        scale = rows.abs().amax(dim=1, keepdim=True).clamp_min(1e-8) / 127.0  # one scale per token
        quantized = torch.round(rows / scale).clamp(-127, 127).to(torch.int8)
        out = torch._int_mm(quantized, self.weight_int8.t()).float() * scale * self.weight_scale
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def quantize_int8(model):
    """`model`, in place, with every `nn.Linear` layer replaced by an `Int8Linear`."""
    targets = [name for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)]
    with torch.no_grad():
        for name in targets:
            _replace(model, name, Int8Linear.from_linear(model.get_submodule(name)))
    if getattr(model.config, "tie_word_embeddings", False) and "lm_head" in targets:
        model.config.tie_word_embeddings = False  # the head has its own int8 copy now
    return model


def _replace(model, name: str, module: torch.nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def quantized_cache_dir(model_dir: Path, cache_dir: Path) -> Path:
    """Where the int8 copy of `model_dir`'s model lives: keyed by the directory's files and the library versions."""
    import transformers

    digest = hashlib.sha256(f"{model_dir.resolve()}|{torch.__version__}|{transformers.__version__}|{SCHEME}".encode())
    for path in sorted(model_dir.iterdir()):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_dir / "models" / f"{model_dir.name}.int8-{digest.hexdigest()[:16]}"


def load_int8_model(model_dir: Path, cache_dir: Path):
    """The causal LM in `model_dir` with int8 linear layers: memory-mapped from the cache, or quantized once and cached."""
    cached = quantized_cache_dir(model_dir, cache_dir)
    if (cached / "int8.json").is_file():
        try:
            return _load_cached(model_dir, cached)
        except Exception as exc:  # a damaged or foreign copy: rebuild it
            log.warning("int8 cache %s unreadable (%s); quantizing again", cached.name, exc)
    from transformers import AutoModelForCausalLM

    log.warning("quantizing %s to int8 once, into %s", model_dir.name, cached)
    model = quantize_int8(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval())
    _save(model, cached)
    return model


def _save(model, cached: Path) -> None:
    from safetensors.torch import save_file

    int8_layers = sorted(name for name, module in model.named_modules() if isinstance(module, Int8Linear))
    # Every tensor, non-persistent buffers (rotary frequencies) included, so loading computes nothing.
    tensors = {name: t.contiguous() for name, t in [*model.named_parameters(), *model.named_buffers()]}
    staging = cached.with_name(f".{cached.name}.tmp-{os.getpid()}")
    try:
        staging.mkdir(parents=True, exist_ok=True)
        save_file(tensors, staging / "model.safetensors")
        (staging / "int8.json").write_text(json.dumps({"scheme": SCHEME, "int8_layers": int8_layers,
                                                       "tie_word_embeddings": model.config.tie_word_embeddings}))
        shutil.rmtree(cached, ignore_errors=True)  # a damaged copy being rebuilt
        os.replace(staging, cached)  # atomic: a half-written cache is never read
    except OSError as exc:  # a read-only cache still serves, only slower to start
        log.warning("could not cache the int8 model in %s: %s", cached.parent, exc)
        shutil.rmtree(staging, ignore_errors=True)


def _load_cached(model_dir: Path, cached: Path):
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForCausalLM

    meta = json.loads((cached / "int8.json").read_text())
    config = AutoConfig.from_pretrained(model_dir)
    config.tie_word_embeddings = meta["tie_word_embeddings"]
    with torch.device("meta"):  # the skeleton allocates nothing; every tensor comes from the file
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        for name in meta["int8_layers"]:
            linear = model.get_submodule(name)
            _replace(model, name, Int8Linear(linear.in_features, linear.out_features, linear.bias is not None))
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
    return model.eval()
