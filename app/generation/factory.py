"""The one place that decides which generator runs: a local model, or a remote OpenAI-compatible server.

Every caller (the service, `ragqa ask`, the benchmarks) builds its generator here, so
`RAGQA_GENERATOR_URL` means the same thing everywhere.
"""
from __future__ import annotations

from pathlib import Path

from app.generation.base import Generator
from core.settings import Settings


def load_local_generator(model: str, cache_dir: Path, threads: int = 0, precision: str = "float32",
                         int8_kernel: str = "auto") -> Generator:
    """The generator `RAGQA_MODEL` names, loaded once (int8: quantized once from the GGUF file into the cache;
    float32: converted once)."""
    from app.generation.local import TransformersGenerator
    from app.generation.model_files import model_directory

    model_dir = None if precision == "int8" else model_directory(model, cache_dir)
    return TransformersGenerator(model_dir, name=model, threads=threads, precision=precision, cache_dir=cache_dir,
                                 int8_kernel=int8_kernel)


def generator_from_settings(settings: Settings) -> Generator:
    """The generator the settings name: a client of `generator_url` when set, else the local model."""
    if settings.generator_url:  # a shared OpenAI-compatible engine generates; no local model
        from app.generation.remote import RemoteGenerator

        return RemoteGenerator(settings.generator_url, settings.generator_model,
                               settings.generator_api_key, settings.generator_timeout_s)
    return load_local_generator(settings.model, settings.cache_dir, settings.torch_threads, settings.model_precision,
                                settings.int8_kernel)
