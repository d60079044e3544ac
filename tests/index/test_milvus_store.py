"""The Milvus vector store, for real through milvus-lite: ingest, search, delete, reopen, reconcile."""
from __future__ import annotations

import numpy as np
import pytest

from index.directory import IndexDirectory
from index.milvus_store import MilvusVectorStore
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline


@pytest.fixture()
def milvus_env(tmp_path, monkeypatch):
    """RAGQA_VECTOR_STORE=milvus with a milvus-lite file of its own."""
    uri = tmp_path / "milvus" / "vectors.db"
    monkeypatch.setenv("RAGQA_VECTOR_STORE", "milvus")
    monkeypatch.setenv("RAGQA_MILVUS_URI", str(uri))
    return uri


def ingest(folder, index_path, embedder, chunker):
    index = IndexDirectory.open_for_writing(index_path, embedder.name, embedder.dimension)
    report = IngestPipeline(index, embedder, chunker).run(folder)
    index.close()
    return report


def test_ingest_search_delete_and_reopen_with_milvus(milvus_env, docs_folder, tmp_path, embedder, chunker):
    ingest(docs_folder, tmp_path / "index", embedder, chunker)
    assert not (tmp_path / "index" / "dense.faiss").exists() and milvus_env.exists()  # milvus-lite keeps a folder

    index = IndexDirectory.open(tmp_path / "index", embedder.name)
    assert isinstance(index.vectors, MilvusVectorStore)
    assert index.vectors.ids() == index.store.chunk_ids() and len(index.vectors) == index.store.chunk_count()
    retriever = Retriever(index, embedder)
    for mode in ("dense", "hybrid"):
        assert retriever.search("Who built the lighthouse?", 3, mode)[0].source == "lighthouse.txt"
    club_ids = {h.chunk_id for h in retriever.search("When does the chess club meet?", 3, "dense") if h.source == "club.html"}
    assert club_ids
    index.close()

    (docs_folder / "club.html").unlink()
    assert ingest(docs_folder, tmp_path / "index", embedder, chunker).removed == ["club.html"]
    index = IndexDirectory.open(tmp_path / "index", embedder.name)
    assert not club_ids & index.vectors.ids()  # the deleted document's vectors are gone from Milvus
    assert index.vectors.ids() == index.store.chunk_ids()
    hits = Retriever(index, embedder).search("When does the chess club meet?", 3, "dense")
    assert "club.html" not in {h.source for h in hits}
    index.close()


def test_a_collection_that_lost_vectors_is_reconciled_from_the_store(milvus_env, docs_folder, tmp_path, embedder, chunker):
    ingest(docs_folder, tmp_path / "index", embedder, chunker)
    index = IndexDirectory.open(tmp_path / "index", embedder.name)
    chunk_ids = sorted(index.store.chunk_ids())
    expected = index.store.embeddings(chunk_ids[:1])[0]
    index.vectors.remove(np.array(chunk_ids[:2], dtype=np.int64))  # e.g. a Milvus restored from an older backup
    index.close()

    index = IndexDirectory.open(tmp_path / "index", embedder.name)
    assert index.vectors.ids() == set(chunk_ids)
    assert np.allclose(index.vectors.vectors_of(chunk_ids[:1])[0], expected, atol=1e-6)
    index.close()


def test_a_collection_of_another_dimension_is_refused(milvus_env):
    from index.errors import IndexMismatchError

    MilvusVectorStore(str(milvus_env), "chunks", 8).close()
    with pytest.raises(IndexMismatchError, match="dimension 8"):
        MilvusVectorStore(str(milvus_env), "chunks", 384)
