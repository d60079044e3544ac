"""One contract every vector store passes, run against FAISS and Milvus (for real, through milvus-lite):
ingest, search, delete a document, reopen, and reconcile a store that lost vectors."""
from __future__ import annotations

import numpy as np
import pytest

from index.directory import IndexDirectory
from index.retrieval import Retriever
from index.vectors import VectorOptions
from index.vectors.faiss import FaissVectorStore
from index.vectors.milvus import MilvusVectorStore
from ingest.pipeline import IngestPipeline

BACKENDS = {"faiss": FaissVectorStore, "milvus": MilvusVectorStore}


@pytest.fixture(params=sorted(BACKENDS))
def options(request, tmp_path) -> VectorOptions:
    """The options the settings would give: FAISS in the index folder, or a milvus-lite file of its own."""
    if request.param == "milvus":
        return VectorOptions(store="milvus", milvus_uri=str(tmp_path / "milvus" / "vectors.db"))
    return VectorOptions(store="faiss")


def ingest(folder, index_path, embedder, chunker, options):
    index = IndexDirectory.open_for_writing(index_path, embedder.name, embedder.dimension, options)
    report = IngestPipeline(index, embedder, chunker).run(folder)
    index.close()
    return report


def test_ingest_search_delete_and_reopen(options, docs_folder, tmp_path, embedder, chunker):
    ingest(docs_folder, tmp_path / "index", embedder, chunker, options)
    assert (tmp_path / "index" / "dense.faiss").exists() == (options.store == "faiss")

    index = IndexDirectory.open(tmp_path / "index", embedder.name, vectors=options)
    assert isinstance(index.vectors, BACKENDS[options.store])
    assert index.vectors.ids() == index.store.chunk_ids() and len(index.vectors) == index.store.chunk_count()
    retriever = Retriever(index, embedder)
    for mode in ("dense", "hybrid"):
        assert retriever.search("Who built the lighthouse?", 3, mode)[0].source == "lighthouse.txt"
    club_ids = {h.chunk_id for h in retriever.search("When does the chess club meet?", 3, "dense") if h.source == "club.html"}
    assert club_ids
    index.close()

    (docs_folder / "club.html").unlink()
    assert ingest(docs_folder, tmp_path / "index", embedder, chunker, options).removed == ["club.html"]
    index = IndexDirectory.open(tmp_path / "index", embedder.name, vectors=options)
    assert not club_ids & index.vectors.ids()  # the deleted document's vectors are gone
    assert index.vectors.ids() == index.store.chunk_ids()
    hits = Retriever(index, embedder).search("When does the chess club meet?", 3, "dense")
    assert "club.html" not in {h.source for h in hits}
    index.close()


def test_a_store_that_lost_vectors_is_reconciled_from_the_chunk_store(options, docs_folder, tmp_path, embedder, chunker):
    ingest(docs_folder, tmp_path / "index", embedder, chunker, options)
    index = IndexDirectory.open(tmp_path / "index", embedder.name, vectors=options)
    chunk_ids = sorted(index.store.chunk_ids())
    expected = index.store.embeddings(chunk_ids[:1])[0]
    index.vectors.remove(np.array(chunk_ids[:2], dtype=np.int64))  # e.g. restored from an older backup
    if options.store == "faiss":  # a file: the loss must reach the disk to be seen by the next open
        index.vectors.save(tmp_path / "index" / "dense.faiss")
    index.close()

    index = IndexDirectory.open(tmp_path / "index", embedder.name, vectors=options)
    assert index.vectors.ids() == set(chunk_ids)
    assert np.allclose(index.vectors.vectors_of(chunk_ids[:1])[0], expected, atol=1e-6)
    index.close()


def test_the_options_choose_the_store_not_the_environment(monkeypatch, docs_folder, tmp_path, embedder, chunker):
    monkeypatch.setenv("RAGQA_VECTOR_STORE", "milvus")  # must not matter: the caller's options decide
    ingest(docs_folder, tmp_path / "index", embedder, chunker, VectorOptions())
    index = IndexDirectory.open(tmp_path / "index", embedder.name)
    assert isinstance(index.vectors, FaissVectorStore)
    index.close()


def test_an_unknown_store_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown vector store 'milvis'.*faiss, milvus"):
        VectorOptions(store="milvis")


def test_a_milvus_collection_of_another_dimension_is_refused(tmp_path):
    from index.errors import IndexMismatchError

    uri = str(tmp_path / "vectors.db")
    MilvusVectorStore(uri, "chunks", 8).close()
    with pytest.raises(IndexMismatchError, match="dimension 8"):
        MilvusVectorStore(uri, "chunks", 384)
