"""The int8 matrix product of the generator's linear layers, by what this CPU runs fast.

Both products take a row (token) of float activations and int8 weights with one scale per output channel, and
quantize each row with its own scale, so a token's output does not depend on the tokens batched with it:

- `int_mm`: the row as int8, times the weights with `torch._int_mm` (oneDNN). With VNNI or AMX instructions it
  is the fastest; without them (an AVX2-only CPU, such as many AMD EPYC and older Intel laptops) oneDNN falls
  back to a reference loop 25-60x slower than float32 (bench/RESULTS.md).
- `fbgemm`: PyTorch's dynamic quantized linear (FBGEMM's AVX2 / AVX-512 kernels), over weights packed once at
  load. It quantizes its whole input with one scale and zero point, from the input's minimum and maximum, so
  each row is first divided by its own largest magnitude and given two more columns, +1 and -1 (whose packed
  weights are zero): every batch then spans exactly [-1, 1], and a row's integers do not depend on its
  batch-mates. The output is multiplied back by the row's scale. On AVX2 the kernel adds pairs of u8 x s8
  products in int16, which saturates for large weights: the packed weights keep 7 bits (±63), which cannot.

`auto` times both on one small product at load and keeps the faster (`chosen_kernel`).
"""
from __future__ import annotations

import functools
import logging
import time
import warnings
from typing import Literal

import torch

log = logging.getLogger(__name__)

Kernel = Literal["int_mm", "fbgemm"]
KernelSetting = Literal["auto", "int_mm", "fbgemm"]


def int_mm_product(rows: torch.Tensor, weight_int8: torch.Tensor, weight_scale: torch.Tensor) -> torch.Tensor:
    """`rows @ W^T` (float rows, W int8 per output channel) with each row quantized to int8: an exact integer product."""
    scale = rows.abs().amax(dim=1, keepdim=True).clamp_min(1e-8) / 127.0  # one scale per token
    quantized = torch.round(rows / scale).clamp(-127, 127).to(torch.int8)
    return torch._int_mm(quantized, weight_int8.t()).float() * scale * weight_scale


def fbgemm_pack(weight_int8: torch.Tensor, weight_scale: torch.Tensor):
    """The weights as FBGEMM's packed int8 matrix, at 7 bits (see the module's docstring)."""
    weight7 = torch.zeros(weight_int8.shape[0], weight_int8.shape[1] + 2, dtype=torch.int8)  # 2 range columns of 0
    halved = weight_int8.to(torch.int16).add_(1).bitwise_right_shift_(1).clamp_(-63, 63)  # w / 2, rounded: integers only
    weight7[:, :-2] = halved
    zero_points = torch.zeros(weight_int8.shape[0], dtype=torch.long)
    with warnings.catch_warnings():  # quantized tensors are deprecated, not gone, in the pinned torch 2.13
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch._make_per_channel_quantized_tensor(weight7, (weight_scale * 2).double(), zero_points, 0)
    return torch.ops.quantized.linear_prepack(quantized, None)


def fbgemm_product(rows: torch.Tensor, packed) -> torch.Tensor:
    """`rows @ W^T` with FBGEMM's dynamic int8 linear, each row scaled to [-1, 1] first and back after."""
    scale = rows.abs().amax(dim=1, keepdim=True).clamp_min(1e-8)
    spanned = torch.cat([rows / scale, _RANGE.expand(rows.shape[0], 2)], dim=1)
    return torch.ops.quantized.linear_dynamic(spanned, packed, False) * scale


_RANGE = torch.tensor([[1.0, -1.0]])  # the two columns that fix every input's range to [-1, 1]


def fbgemm_available() -> bool:
    return "fbgemm" in torch.backends.quantized.supported_engines or "x86" in torch.backends.quantized.supported_engines


@functools.cache
def fastest_kernel() -> Kernel:
    """The faster of the two products on this CPU, timed once per process on a 32 x 1024 x 1024 product."""
    if not fbgemm_available():
        return "int_mm"
    generator = torch.Generator().manual_seed(0)
    rows = torch.randn(32, 1024, generator=generator)
    weight = torch.randint(-127, 128, (1024, 1024), dtype=torch.int8, generator=generator)
    scale = torch.full((1024,), 0.01)
    packed = fbgemm_pack(weight, scale)
    timings = {"int_mm": lambda: int_mm_product(rows, weight, scale), "fbgemm": lambda: fbgemm_product(rows, packed)}
    seconds = {}
    for name, product in timings.items():
        product()  # first call: allocations, kernel dispatch
        started = time.perf_counter()
        for _ in range(3):
            product()
        seconds[name] = time.perf_counter() - started
    kernel: Kernel = min(seconds, key=seconds.get)
    log.info("int8 kernel: %s (int_mm %.1f ms, fbgemm %.1f ms per 3 products)", kernel,
             seconds["int_mm"] * 1000, seconds["fbgemm"] * 1000)
    return kernel


def chosen_kernel(setting: KernelSetting) -> Kernel:
    """The kernel `RAGQA_INT8_KERNEL` names, or with `auto` the faster one here; a clear error when it names
    FBGEMM on a build of torch that has none (ARM)."""
    if setting == "fbgemm" and not fbgemm_available():
        raise ValueError("RAGQA_INT8_KERNEL=fbgemm, but this build of torch has no FBGEMM engine "
                         f"(quantized engines: {', '.join(torch.backends.quantized.supported_engines)}); "
                         "use auto or int_mm")
    return fastest_kernel() if setting == "auto" else setting
