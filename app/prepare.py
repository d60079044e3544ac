"""`python -m app.prepare`: make the configured models ready offline, so a start only loads caches.

Quantizes the GGUF generator to int8 once, in memory (`RAGQA_MODEL_PRECISION=int8`, no float32 copy on
disk), or converts it to float32 once; and exports the embedder to ONNX once (`RAGQA_EMBEDDING_BACKEND=onnx…`).
"""
from __future__ import annotations

import sys
import time

from app.generation.model_files import ModelNotFoundError, int8_directory, model_directory
from core.environment import use_offline_models
from core.settings import Settings
from index.embedder import Embedder, resolve_embedding_model


def main() -> int:
    use_offline_models()
    settings = Settings()
    started = time.perf_counter()
    try:
        embedder_dir = resolve_embedding_model(settings.embedding_model)
        backends = {settings.embedding_backend, settings.evidence_embedding_backend, settings.document_embedding_backend}
        for backend in backends - {"torch", "index"}:
            Embedder(settings.embedding_model, backend=backend, cache_dir=settings.cache_dir)  # exports it once
        if settings.model_precision == "int8":
            from app.generation.quantization import load_int8_model

            load_int8_model(settings.model, settings.cache_dir)  # quantizes and caches it, once
            generator_dir = int8_directory(settings.model, settings.cache_dir)
        else:
            generator_dir = model_directory(settings.model, settings.cache_dir)
    except (ModelNotFoundError, ValueError, RuntimeError) as exc:
        print(f"prepare: error: {exc}", file=sys.stderr)
        return 2
    print(f"prepare: embedder {settings.embedding_model} at {embedder_dir} ({settings.embedding_backend})")
    print(f"prepare: generator {settings.model} at {generator_dir} ({settings.model_precision}; "
          f"{time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
