"""The service's views of the index: loaded once, then swapped whole on reload, so /search and /ask agree."""
from __future__ import annotations

import threading
import time

import pytest

from app.services import NotReadyError, ServiceLoader
from index.directory import IndexDirectory
from ingest.pipeline import IngestPipeline
from tests.conftest import write_documents

HARBOUR = {"harbour.txt": "The harbour of Varnholm was dredged in 1904 by the engineer Tomas Reed."}


def ingest(docs, index_dir, embedder, chunker) -> None:
    index = IndexDirectory.open_for_writing(index_dir, embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs)
    index.close()


@pytest.fixture()
def loader(tmp_path, settings, embedder, generator, chunker):
    docs, index_dir = write_documents(tmp_path / "docs"), tmp_path / "index"
    ingest(docs, index_dir, embedder, chunker)
    loader = ServiceLoader(settings.model_copy(update={"index_dir": index_dir, "index_reload_seconds": 0}))
    assert loader.serve_with(embedder, generator)
    loader.docs = docs
    yield loader
    loader.stop()


def test_before_loading_a_request_is_told_what_the_service_waits_for(settings):
    loader = ServiceLoader(settings)
    with pytest.raises(NotReadyError, match="not ready: loading the embedding model"):
        loader.require()


def test_after_a_reload_search_and_ask_read_the_same_new_snapshot(loader, embedder, chunker):
    old = loader.require()
    assert not loader.refresh_index()  # nothing changed: nothing swapped

    write_documents(loader.docs, HARBOUR)
    ingest(loader.docs, loader.settings.index_dir, embedder, chunker)
    assert loader.refresh_index()
    new = loader.require()

    assert new.generation > old.generation
    assert new.answerer.retriever is new.retriever  # /ask searches what /search searches
    assert old.answerer.retriever is old.retriever  # a request still holding the old view is not switched mid-way
    assert new.generator is old.generator and new.queue is old.queue  # the model and its queue are shared
    question = "Who dredged the harbour of Varnholm?"
    assert new.retriever.search(question, 1)[0].source == "harbour.txt"
    _, cited = new.answerer.evidence(question, 3)
    assert "harbour.txt" in {hit.source for hit in cited}
    assert "harbour.txt" not in {hit.source for hit in old.retriever.search(question, 3)}


def test_the_models_load_during_the_start_up_ingest_and_the_index_opens_after_it(tmp_path, settings, embedder,
                                                                                  generator, chunker):
    """`ragqa serve` runs ingest beside the loading server: ready must still mean the folder is indexed."""
    docs, index_dir = write_documents(tmp_path / "docs"), tmp_path / "index"
    ingest(docs, index_dir, embedder, chunker)  # the index of the last run, before the folder changed
    write_documents(docs, HARBOUR)
    ingest_finished = threading.Event()
    loader = ServiceLoader(settings.model_copy(update={"index_dir": index_dir, "index_reload_seconds": 0}),
                           ingest_finished=ingest_finished)
    serving = threading.Thread(target=loader.serve_with, args=(embedder, generator))
    serving.start()
    try:
        time.sleep(0.5)  # the loaded models wait for the ingest run, not for the index on disk (which exists)
        with pytest.raises(NotReadyError, match="not ready: ingesting the document folder"):
            loader.require()
        ingest(docs, index_dir, embedder, chunker)
        ingest_finished.set()
        serving.join(timeout=120)
        question = "Who dredged the harbour of Varnholm?"
        assert loader.require().retriever.search(question, 1)[0].source == "harbour.txt"
    finally:
        loader.stop()
        serving.join(timeout=120)
