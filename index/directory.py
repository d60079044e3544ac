"""An index directory: chunk store + vectors + a description of how it was built, kept consistent.

Layout: `chunks.sqlite` (source of truth), `dense.faiss` + `dense.json` (vectors and the store
generation they reflect), `ragqa-index.json` (self-description, written when a run finishes).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from index.atomic import write_text_atomically
from index.errors import IndexMismatchError, IndexNotFoundError
from index.store import SCHEMA_VERSION, ChunkStore
from index.types import Chunk
from index.vectors import VectorOptions, VectorStore, open_vector_store

log = logging.getLogger(__name__)

STORE_FILE = "chunks.sqlite"
VECTORS_FILE = "dense.faiss"
VECTORS_STAMP_FILE = "dense.json"
DESCRIPTION_FILE = "ragqa-index.json"


class IndexDirectory:
    """Opened for writing by ingest (`open_for_writing`) or for reading by the service (`open`)."""

    def __init__(self, path: Path, store: ChunkStore, vectors: VectorStore) -> None:
        self.path = path
        self.store = store
        self.vectors = vectors

    # --- opening ---------------------------------------------------------------------------------
    @classmethod
    def open_for_writing(cls, path: Path, embedding_model: str, dimension: int | None,
                         vectors: VectorOptions = VectorOptions()) -> "IndexDirectory":
        """Create the directory if needed; refuse one built with another embedding model.
        `dimension` None: the one the index records (an index that records none is refused)."""
        if path.exists() and not path.is_dir():
            raise IndexMismatchError(f"index path {path} exists and is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        store = ChunkStore(path / STORE_FILE)
        recorded = store.get_meta("embedding_model")
        if recorded is None and dimension is None:
            store.close()
            raise IndexMismatchError(f"index {path} records no embedding model: its dimension must be given")
        if recorded is None:
            store.set_meta("embedding_model", embedding_model)
            store.set_meta("dimension", str(dimension))
            store.set_meta("schema_version", str(SCHEMA_VERSION))
        else:
            _check_model(path, store, embedding_model, dimension)
            dimension = int(store.get_meta("dimension") or 0)
        return cls(path, store, _load_vectors(path, store, dimension, vectors))

    @classmethod
    def open(cls, path: Path, embedding_model: str | None = None, *, snapshot: bool = False,
             vectors: VectorOptions = VectorOptions()) -> "IndexDirectory":
        """Open a finished index for reading; the model, if given, must be the one it was built with.

        `snapshot`: the store is read in one transaction and the vectors are reconciled with it, so the
        opened index stays consistent (every vector has its chunk) while ingest keeps writing.
        """
        if not (path / DESCRIPTION_FILE).is_file() or not (path / STORE_FILE).is_file():
            raise IndexNotFoundError(
                f"no index at {path}: build one with `python -m ingest DOCS_FOLDER --index {path}`"
            )
        store = ChunkStore(path / STORE_FILE, snapshot=snapshot)
        dimension = int(store.get_meta("dimension") or 0)
        if embedding_model is not None:
            _check_model(path, store, embedding_model, None)
        return cls(path, store, _load_vectors(path, store, dimension, vectors))

    def close(self) -> None:
        self.store.close()
        if close_vectors := getattr(self.vectors, "close", None):  # a Milvus client; FAISS holds no connection
            close_vectors()

    @staticmethod
    def committed_generation(path: Path) -> int:
        """The store generation a reader opening `path` now would see (0 when there is no store)."""
        return ChunkStore.current_generation(path / STORE_FILE) if (path / STORE_FILE).is_file() else 0

    @staticmethod
    def finished_generation(path: Path) -> int | None:
        """The generation the last finished ingest run (or flush) recorded, or None before the first."""
        description = path / DESCRIPTION_FILE
        try:
            return json.loads(description.read_text()).get("generation")
        except (OSError, ValueError):
            return None

    @staticmethod
    def recorded_embedding_model(path: Path) -> str | None:
        """The embedding model the index at `path` was built with; None when there is no index there yet."""
        if not (path / STORE_FILE).is_file():
            return None
        store = ChunkStore(path / STORE_FILE, readonly=True)
        try:
            return store.get_meta("embedding_model")
        finally:
            store.close()

    @staticmethod
    def mirrored_folder(path: Path) -> str | None:
        """The folder whose documents the index at `path` mirrors, as its last finished run recorded."""
        description = path / DESCRIPTION_FILE
        return json.loads(description.read_text()).get("source_folder") if description.is_file() else None

    @property
    def embedding_model(self) -> str:
        return self.store.get_meta("embedding_model") or ""

    @property
    def dimension(self) -> int:
        return int(self.store.get_meta("dimension") or 0)

    # --- writing ---------------------------------------------------------------------------------
    def write_document(self, source: str, content_hash: str, size: int, text: str, metadata: dict,
                       chunks: list[Chunk], embeddings: np.ndarray, fingerprint: bytes | None = None,
                       sentence_vectors: list[np.ndarray] | None = None) -> None:
        """Replace one document: committed in SQLite first, then mirrored into the vectors."""
        removed, added = self.store.replace_document(source, content_hash, size, text, metadata, chunks, embeddings,
                                                     fingerprint, sentence_vectors)
        self.vectors.remove(np.array(removed, dtype=np.int64))
        self.vectors.add(np.array(added, dtype=np.int64), embeddings)

    def remove_document(self, source: str) -> None:
        removed = self.store.delete_document(source)
        self.vectors.remove(np.array(removed, dtype=np.int64))

    def flush(self, extra_description: dict | None = None) -> None:
        """Persist the vectors atomically, stamp them with the store generation, describe the index."""
        generation = self.store.generation
        self.vectors.save(self.path / VECTORS_FILE)
        write_text_atomically(self.path / VECTORS_STAMP_FILE, json.dumps({"generation": generation}))
        description = {
            "format": "ragqa-index",
            "schema_version": SCHEMA_VERSION,
            "embedding_model": self.embedding_model,
            "dimension": self.dimension,
            "generation": generation,
            "documents": len(self.store.manifest()),
            "chunks": self.store.chunk_count(),
            **(extra_description or {}),
        }
        write_text_atomically(self.path / DESCRIPTION_FILE, json.dumps(description, indent=2) + "\n")


def _check_model(path: Path, store: ChunkStore, embedding_model: str, dimension: int | None) -> None:
    recorded_model = store.get_meta("embedding_model")
    recorded_dim = int(store.get_meta("dimension") or 0)
    if recorded_model != embedding_model or (dimension is not None and recorded_dim != dimension):
        raise IndexMismatchError(
            f"index {path} was built with embedding model {recorded_model!r} (dimension {recorded_dim}), "
            f"but {embedding_model!r}{f' (dimension {dimension})' if dimension else ''} is configured; "
            "use that model (RAGQA_EMBEDDING_MODEL; a name ending in @int8 is RAGQA_EMBEDDING_BACKEND=onnx-int8) "
            "or another --index folder"
        )


def _load_vectors(path: Path, store: ChunkStore, dimension: int, options: VectorOptions) -> VectorStore:
    """Open the vector store `options` choose and bring it in line with the store if it reflects another generation."""
    vectors_path, stamp_path = path / VECTORS_FILE, path / VECTORS_STAMP_FILE
    vectors = open_vector_store(path, vectors_path, dimension, options)
    stamp = json.loads(stamp_path.read_text()) if stamp_path.is_file() else {}
    if stamp.get("generation") == store.generation and len(vectors) == store.chunk_count():
        return vectors
    # The run that wrote the store did not finish its flush (or never started one): reconcile.
    in_store, in_vectors = store.chunk_ids(), vectors.ids()
    extra = np.array(sorted(in_vectors - in_store), dtype=np.int64)
    missing = sorted(in_store - in_vectors)
    if getattr(vectors, "shared", False) and store.db.in_transaction:  # a snapshot reader
        # A vector store shared with a writer (Milvus) may hold vectors newer than this reader's snapshot:
        # only the writer removes; readers only fill in, and drop hits their snapshot does not know.
        extra = extra[:0]
    vectors.remove(extra)
    if missing:
        vectors.add(np.array(missing, dtype=np.int64), store.embeddings(missing))
    log.info("reconciled vectors with the store: %d added, %d removed", len(missing), len(extra))
    return vectors
