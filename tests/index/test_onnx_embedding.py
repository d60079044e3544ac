"""The ONNX Runtime embedding backends embed like torch, and retrieve; int8 indexes are kept apart."""
from __future__ import annotations

import numpy as np
import pytest

from index.directory import IndexDirectory
from index.embedder import Embedder
from index.errors import IndexMismatchError
from index.retrieval import Retriever
from ingest.chunking import Chunker
from ingest.pipeline import IngestPipeline

TEXTS = ["The lighthouse at Varnholm was built in 1872.", "When does the chess club meet?", "x",
         "A sourdough loaf needs flour, water, salt and a starter culture. " * 20]


@pytest.fixture(scope="session")
def onnx_embedder(settings):
    """Exported once into the settings' cache dir (kept between runs, like the converted generator weights)."""
    return Embedder.from_settings(settings.model_copy(update={"embedding_backend": "onnx"}))


def test_onnx_vectors_match_torch(onnx_embedder, embedder, settings):
    assert onnx_embedder.model is None and onnx_embedder.name == embedder.name  # an index of either serves both
    assert np.abs(onnx_embedder.embed(TEXTS) - embedder.embed(TEXTS)).max() < 1e-4
    assert list((settings.cache_dir / "embeddings").glob("*/model.onnx"))


def test_an_index_built_with_onnx_retrieves_the_right_documents(onnx_embedder, docs_folder, tmp_path, settings):
    index = IndexDirectory.open_for_writing(tmp_path / "index", onnx_embedder.name, onnx_embedder.dimension)
    chunker = Chunker(onnx_embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)
    IngestPipeline(index, onnx_embedder, chunker).run(docs_folder)
    retriever = Retriever(index, onnx_embedder)
    assert retriever.search("Who built the lighthouse?", 3, "dense")[0].source == "lighthouse.txt"
    assert retriever.search("When does the chess club meet?", 3, "dense")[0].source == "club.html"
    index.close()


def test_int8_is_close_to_torch_but_its_index_is_kept_apart(embedder, settings, tmp_path):
    int8 = Embedder.from_settings(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    assert int8.name == f"{embedder.name}@int8"
    cosines = (int8.embed(TEXTS) * embedder.embed(TEXTS)).sum(axis=1)
    assert cosines.min() > 0.95
    IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension).close()
    with pytest.raises(IndexMismatchError, match="@int8"):
        IndexDirectory.open_for_writing(tmp_path / "index", int8.name, int8.dimension)
