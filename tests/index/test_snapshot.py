"""A reader's snapshot of the index stays consistent while ingest rewrites the index underneath it."""
from __future__ import annotations

import pytest

from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline
from tests.conftest import write_documents


def _ingest(folder, index_dir, embedder, chunker):
    index = IndexDirectory.open_for_writing(index_dir, embedder.name, embedder.dimension)
    try:
        return IngestPipeline(index, embedder, chunker).run(folder)
    finally:
        index.close()


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "dense"])
def test_snapshot_keeps_answering_from_what_it_opened_while_ingest_rewrites(docs_folder, tmp_path, embedder,
                                                                            chunker, mode):
    index_dir = tmp_path / "index"
    _ingest(docs_folder, index_dir, embedder, chunker)
    snapshot = IndexDirectory.open(index_dir, embedder.name, snapshot=True)
    retriever = Retriever(snapshot, embedder, mode)
    generation = snapshot.store.generation

    # Ingest removes the lighthouse and adds an observatory, whose words the snapshot has never seen.
    (docs_folder / "lighthouse.txt").unlink()
    write_documents(docs_folder, {"observatory.txt": "The observatory on Mount Kessel houses a lighthouse-sized "
                                                     "telescope with a mirror of 3.5 metres, first used in 1994."})
    _ingest(docs_folder, index_dir, embedder, chunker)
    assert IndexDirectory.committed_generation(index_dir) > generation

    hits = retriever.search("lighthouse Varnholm observatory telescope mirror", 5)
    sources = {h.source for h in hits}
    assert "lighthouse.txt" in sources and "observatory.txt" not in sources
    assert snapshot.store.generation == generation
    assert all(snapshot.store.document_text(h.source)[h.start:h.end] == h.text for h in hits)
    snapshot.close()

    fresh = Retriever(IndexDirectory.open(index_dir, embedder.name, snapshot=True), embedder, mode)
    sources = {h.source for h in fresh.search("observatory telescope mirror Mount Kessel", 5)}
    assert "observatory.txt" in sources and "lighthouse.txt" not in sources
    fresh.index.close()


def test_snapshot_opened_mid_run_reconciles_vectors_with_its_own_view(docs_folder, tmp_path, embedder, chunker):
    """A run that committed documents but has not saved its vectors yet: the snapshot still has every vector."""
    index_dir = tmp_path / "index"
    _ingest(docs_folder, index_dir, embedder, chunker)
    writer = IndexDirectory.open_for_writing(index_dir, embedder.name, embedder.dimension)
    text = "The observatory on Mount Kessel houses a telescope with a mirror of 3.5 metres."
    chunks = chunker.split(text)
    writer.write_document("observatory.txt", "hash", len(text), text, {}, chunks, embedder.embed([c.text for c in chunks]))
    snapshot = IndexDirectory.open(index_dir, embedder.name, snapshot=True)  # before the writer's flush
    writer.close()
    assert snapshot.vectors.ids() == snapshot.store.chunk_ids()
    hits = Retriever(snapshot, embedder, "dense").search("telescope mirror on Mount Kessel", 1)
    assert hits[0].source == "observatory.txt"
    snapshot.close()
