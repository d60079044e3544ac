"""`python -m app.prepare`: make the configured models ready offline (converts a GGUF generator once)."""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.model_files import ModelNotFoundError, model_directory  # noqa: E402
from app.settings import Settings  # noqa: E402
from index.embedder import resolve_embedding_model  # noqa: E402


def main() -> int:
    settings = Settings()
    started = time.perf_counter()
    try:
        embedder_dir = resolve_embedding_model(settings.embedding_model)
        generator_dir = model_directory(settings.model, settings.cache_dir)
    except (ModelNotFoundError, ValueError, RuntimeError) as exc:
        print(f"prepare: error: {exc}", file=sys.stderr)
        return 2
    print(f"prepare: embedder {settings.embedding_model} at {embedder_dir}")
    print(f"prepare: generator {settings.model} at {generator_dir} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
