"""Opens the vector store the settings choose: FAISS in the index directory, or a Milvus collection."""
from __future__ import annotations

from pathlib import Path

from index.vectors import FaissOptions, FaissVectorStore, VectorStore

MILVUS_LITE_FILE = "dense.milvus.db"  # milvus-lite's default place: inside the index directory


def open_vector_store(index_path: Path, faiss_file: Path, dimension: int, settings=None) -> VectorStore:
    """The vector store of the index at `index_path` (`settings`: an `app.settings.Settings`, default from the environment)."""
    if settings is None:
        from app.settings import Settings

        settings = Settings()
    if settings.vector_store == "milvus":
        from index.milvus_store import MilvusVectorStore

        uri = settings.milvus_uri or str(index_path / MILVUS_LITE_FILE)
        return MilvusVectorStore(uri, settings.milvus_collection, dimension)
    options = FaissOptions(settings.vector_index, settings.approximate_from, settings.ivf_nprobe)
    if faiss_file.is_file():
        return FaissVectorStore.load(faiss_file, options)
    return FaissVectorStore(dimension, options=options)
