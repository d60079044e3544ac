"""Vector stores behind one protocol (`base`): FAISS in the index directory (`faiss`) or a Milvus collection (`milvus`).

`open_vector_store` is the factory: it takes `VectorOptions` (built by the caller, usually from
`Settings`), never the environment, and names an unknown backend in its error.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from index.vectors.base import VectorStore
from index.vectors.faiss import FaissOptions, FaissVectorStore

MILVUS_LITE_FILE = "dense.milvus.db"  # milvus-lite's default place: inside the index directory
BACKENDS = ("faiss", "milvus")


@dataclass(frozen=True)
class VectorOptions:
    """Which vector store holds an index's vectors, and how (defaults: an exact-then-IVF FAISS file)."""

    store: Literal["faiss", "milvus"] = "faiss"
    faiss: FaissOptions = FaissOptions()
    milvus_uri: str = ""  # empty: milvus-lite in the index directory
    milvus_collection: str = "ragqa_chunks"

    def __post_init__(self) -> None:
        if self.store not in BACKENDS:
            raise ValueError(f"unknown vector store {self.store!r}: expected one of {', '.join(BACKENDS)}")

    @classmethod
    def from_settings(cls, settings) -> "VectorOptions":
        """The options a `core.settings.Settings` names (RAGQA_VECTOR_STORE, RAGQA_VECTOR_INDEX, ...)."""
        return cls(settings.vector_store, FaissOptions(settings.vector_index, settings.approximate_from, settings.ivf_nprobe),
                   settings.milvus_uri, settings.milvus_collection)


def open_vector_store(index_path: Path, faiss_file: Path, dimension: int,
                      options: VectorOptions = VectorOptions()) -> VectorStore:
    """The vector store of the index at `index_path`, as `options` choose."""
    if options.store == "milvus":
        from index.vectors.milvus import MilvusVectorStore

        uri = options.milvus_uri or str(index_path / MILVUS_LITE_FILE)
        return MilvusVectorStore(uri, options.milvus_collection, dimension)
    if faiss_file.is_file():
        return FaissVectorStore.load(faiss_file, options.faiss)
    return FaissVectorStore(dimension, options=options.faiss)
