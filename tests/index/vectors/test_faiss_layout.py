"""The FAISS store turns approximate (IVF) once it is large, and still finds, removes and reloads vectors by chunk id."""
from __future__ import annotations

import numpy as np
import pytest

from core.settings import Settings
from index.directory import IndexDirectory
from index.types import Chunk
from index.vectors import VectorOptions
from index.vectors.faiss import FaissOptions

DIMENSION = 32
SMALL_IVF = VectorOptions(faiss=FaissOptions(approximate_from=1000, ivf_nprobe=8))


def unit_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def write_documents(index: IndexDirectory, documents: int, chunks_each: int) -> dict[str, np.ndarray]:
    written = {}
    for n in range(documents):
        vectors = unit_vectors(chunks_each, seed=n)
        chunks = [Chunk(f"chunk {n}-{i}", 0, 1) for i in range(chunks_each)]
        index.write_document(f"doc{n}.txt", f"hash{n}", 1, "x", {}, chunks, vectors)
        written[f"doc{n}.txt"] = vectors
    return written


@pytest.fixture()
def large_index(tmp_path):
    """3 000 chunks, approximate from 1 000 (RAGQA_APPROXIMATE_FROM=1000): large enough to become approximate."""
    index = IndexDirectory.open_for_writing(tmp_path / "index", "synthetic", DIMENSION, SMALL_IVF)
    written = write_documents(index, documents=30, chunks_each=100)
    assert index.vectors.kind == "flat"  # exact while ingesting ...
    index.flush()
    assert index.vectors.kind == "ivf"  # ... approximate once saved at this size
    index.close()
    return tmp_path / "index", written


def test_a_large_index_becomes_approximate_and_still_finds_a_known_vector(large_index):
    path, written = large_index
    index = IndexDirectory.open(path, vectors=SMALL_IVF)
    assert index.vectors.kind == "ivf"
    ids_of_doc7 = [h.chunk_id for h in index.store.hits([(i, 0.0, 0.0) for i in sorted(index.store.chunk_ids())])
                   if h.source == "doc7.txt"]
    best_id, cosine = index.vectors.search(written["doc7.txt"][42], 1)[0]
    assert best_id == ids_of_doc7[42] and cosine == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(index.vectors.vectors_of([best_id])[0], written["doc7.txt"][42])
    index.close()


def test_removing_a_document_from_an_approximate_index_removes_its_vectors(large_index):
    path, written = large_index
    index = IndexDirectory.open_for_writing(path, "synthetic", DIMENSION, SMALL_IVF)
    index.remove_document("doc7.txt")
    index.flush()
    index.close()
    index = IndexDirectory.open(path, vectors=SMALL_IVF)
    assert index.vectors.kind == "ivf" and len(index.vectors) == 2900
    assert index.vectors.ids() == index.store.chunk_ids()
    hits = index.vectors.search(written["doc7.txt"][42], 5)
    assert len(hits) == 5 and "doc7.txt" not in {h.source for h in index.store.hits([(i, s, s) for i, s in hits])}
    index.close()


def test_the_setting_can_force_an_exact_index_back(large_index):
    path, written = large_index
    settings = Settings(vector_index="flat", approximate_from=1000, ivf_nprobe=8)  # RAGQA_VECTOR_INDEX=flat
    index = IndexDirectory.open(path, vectors=VectorOptions.from_settings(settings))
    assert index.vectors.kind == "flat" and len(index.vectors) == 3000
    assert index.vectors.search(written["doc3.txt"][5], 1)[0][1] == pytest.approx(1.0, abs=1e-5)
    index.close()
