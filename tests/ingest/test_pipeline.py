"""Incremental ingestion: only what changed costs work, bad files are skipped, nothing indexed is lost."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from index.directory import IndexDirectory
from index.errors import IndexMismatchError
from ingest.pipeline import IngestPipeline
from tests.conftest import DOCUMENTS


@pytest.fixture()
def run_ingest(embedder, chunker, tmp_path):
    index_dir = tmp_path / "index"

    def run(folder):
        index = IndexDirectory.open_for_writing(index_dir, embedder.name, embedder.dimension)
        try:
            return IngestPipeline(index, embedder, chunker).run(folder)
        finally:
            index.close()

    run.index_dir = index_dir
    return run


def _open(run_ingest):
    return IndexDirectory.open(run_ingest.index_dir)


def test_add_then_unchanged_then_change_then_delete(docs_folder, run_ingest):
    first = run_ingest(docs_folder)
    assert sorted(first.added) == sorted(DOCUMENTS) and first.chunks_embedded >= 3

    again = run_ingest(docs_folder)
    assert again.chunks_embedded == 0 and not (again.added or again.updated or again.removed)
    assert len(again.unchanged) == 3 and "already up to date" in again.summary()

    (docs_folder / "lighthouse.txt").write_text("The lighthouse at Varnholm is now a museum about whaling.")
    (docs_folder / "club.html").unlink()
    changed = run_ingest(docs_folder)
    assert changed.updated == ["lighthouse.txt"] and changed.removed == ["club.html"] and changed.added == []

    index = _open(run_ingest)
    assert set(index.store.manifest()) == {"lighthouse.txt", "baking/bread.md"}
    assert "museum" in index.store.document_text("lighthouse.txt")
    assert index.vectors.ids() == index.store.chunk_ids()  # no vector left behind by the delete
    index.close()


def test_bad_files_are_skipped_with_reasons_and_keep_their_old_version(docs_folder, run_ingest):
    run_ingest(docs_folder)
    (docs_folder / "lighthouse.txt").write_bytes(b"\xff\xfe\x00\x00garbage\x00")  # now broken
    (docs_folder / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (docs_folder / ".hidden.txt").write_text("secret notes")
    (docs_folder / "empty.md").write_text("")
    report = run_ingest(docs_folder)
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert set(reasons) == {"lighthouse.txt", "photo.jpg", "empty.md"}
    assert "unsupported" in reasons["photo.jpg"] and "empty" in reasons["empty.md"]
    index = _open(run_ingest)
    assert "Ada Brook" in index.store.document_text("lighthouse.txt"), "the last good version stays"
    assert ".hidden.txt" not in index.store.manifest()
    index.close()


def test_an_emptied_folder_does_not_wipe_the_index(docs_folder, run_ingest):
    run_ingest(docs_folder)
    for name in DOCUMENTS:
        (docs_folder / name).unlink()
    report = run_ingest(docs_folder)
    assert report.readable == 0 and report.removed == []
    index = _open(run_ingest)
    assert len(index.store.manifest()) == 3
    index.close()


def test_symlink_out_of_the_folder_is_not_followed(docs_folder, run_ingest, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("Private text outside the documents folder.")
    (docs_folder / "link.txt").symlink_to(outside)
    report = run_ingest(docs_folder)
    assert {"path": "link.txt", "reason": "symbolic link out of the folder"} in report.skipped


def test_index_refuses_another_embedding_model(docs_folder, run_ingest, embedder):
    run_ingest(docs_folder)
    with pytest.raises(IndexMismatchError, match="all-MiniLM-L6-v2"):
        IndexDirectory.open_for_writing(run_ingest.index_dir, "some-other-model", 768)
    with pytest.raises(IndexMismatchError):
        IndexDirectory.open(run_ingest.index_dir, "some-other-model")


def test_vectors_are_reconciled_when_a_run_died_before_saving_them(docs_folder, run_ingest, embedder, chunker):
    run_ingest(docs_folder)
    # A run that commits a document to SQLite and dies before flushing the FAISS file:
    index = IndexDirectory.open_for_writing(run_ingest.index_dir, embedder.name, embedder.dimension)
    text = "The ferry to Skarvik leaves at seven."
    chunks = chunker.split(text)
    index.write_document("ferry.txt", "hash", len(text), text, {}, chunks, embedder.embed([c.text for c in chunks]))
    index.remove_document("club.html")
    index.close()  # no flush
    reopened = _open(run_ingest)
    assert reopened.vectors.ids() == reopened.store.chunk_ids()
    reopened.close()


def _cli(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "ingest", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, env={**os.environ, **(env or {})})


def test_cli_reports_json_then_embeds_nothing_on_a_second_run(docs_folder, tmp_path, request):
    root = request.config.rootpath
    first = _cli(docs_folder, "--index", tmp_path / "cli-index", "--json", cwd=root)
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)["added"]) == 3
    second = _cli(docs_folder, "--index", tmp_path / "cli-index", cwd=root)
    assert second.returncode == 0
    assert "chunks embedded 0" in second.stdout and "already up to date" in second.stdout


def test_cli_chunks_larger_than_the_embedder_reads_are_refused_when_a_file_changed(docs_folder, tmp_path, request):
    """The embedder loads only for a changed file: a chunk size it cannot read is refused then, cleanly."""
    root, index = request.config.rootpath, tmp_path / "cli-index"
    assert _cli(docs_folder, "--index", index, cwd=root).returncode == 0
    too_large = {"RAGQA_CHUNK_TOKENS": "1000"}
    assert _cli(docs_folder, "--index", index, cwd=root, env=too_large).returncode == 0  # nothing to chunk
    (docs_folder / "lighthouse.txt").write_text("The lighthouse at Varnholm was painted red in 1990.")
    refused = _cli(docs_folder, "--index", index, cwd=root, env=too_large)
    assert refused.returncode == 2 and "RAGQA_CHUNK_TOKENS=1000 exceeds" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    kept = IndexDirectory.open(index)
    assert len(kept.store.manifest()) == 3  # nothing indexed was lost
    kept.close()


def test_cli_missing_folder_is_a_clear_error(tmp_path, request):
    result = _cli(tmp_path / "nope", "--index", tmp_path / "i", cwd=request.config.rootpath)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_cli_exits_non_zero_when_nothing_could_be_read(tmp_path, request):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"\x00\x01")
    result = _cli(folder, "--index", tmp_path / "i", cwd=request.config.rootpath)
    assert result.returncode == 1
    assert "skipped a.txt: binary" in result.stderr and "Traceback" not in result.stderr


def test_cli_refuses_to_mirror_another_folder_without_replace(docs_folder, tmp_path, request):
    root = request.config.rootpath
    assert _cli(docs_folder, "--index", tmp_path / "i", cwd=root).returncode == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("Another folder entirely.")
    refused = _cli(other, "--index", tmp_path / "i", cwd=root)
    assert refused.returncode == 2 and "--replace" in refused.stderr
    assert _cli(other, "--index", tmp_path / "i", "--replace", cwd=root).returncode == 0


def test_a_chunks_int8_vector_does_not_depend_on_the_chunks_ingested_with_it(embedder, settings):
    """Documents are embedded by the int8 copy one text per run: re-ingesting a file alone, or among others,
    stores the very same vector, so a resumed or repeated ingest reproduces the index exactly."""
    import numpy as np

    from ingest.pipeline import document_embedder

    documents = document_embedder(settings, embedder)
    assert documents.backend == "onnx-int8" and documents.name == f"{embedder.name}@int8"
    texts = ["The lighthouse at Varnholm was built in 1872.", "x",
             "A sourdough loaf needs flour, water, salt and a starter culture. " * 20]
    assert np.array_equal(documents.embed(texts[:1])[0], documents.embed(texts)[0])
    # Sentences run one per core at once: each still gets its own vector, in its place.
    sentences = [f"Sentence number {n} of the log, about the {word} of the harbour." for n, word in
                 enumerate(["lighthouse", "ferry", "market", "school", "railway", "regatta", "museum", "theatre"])]
    assert np.array_equal(documents.embed(sentences), np.stack([documents.embed([s])[0] for s in sentences]))
    assert (documents.embed(texts[:1])[0] @ embedder.embed(texts[:1])[0]) > 0.95  # close to the query model's vector


def test_a_run_over_an_unchanged_folder_loads_no_model(docs_folder, run_ingest, embedder, settings):
    """`ragqa serve` ingests at every start: over the folder as indexed it must not wait for the embedder."""
    run_ingest(docs_folder)
    loads = []

    def load_embedder():
        loads.append(1)
        return embedder

    def run():
        index = IndexDirectory.open_for_writing(run_ingest.index_dir, embedder.name, None)
        try:
            return IngestPipeline.from_settings(index, load_embedder, settings).run(docs_folder)
        finally:
            index.close()

    assert run().chunks_embedded == 0 and loads == []
    (docs_folder / "lighthouse.txt").write_text("The lighthouse at Varnholm was painted red in 1990.", encoding="utf-8")
    report = run()
    assert report.updated == ["lighthouse.txt"] and report.chunks_embedded >= 1 and loads == [1]


def test_a_chunk_is_found_by_what_its_prose_says_and_by_its_commands(tmp_path, embedder, chunker):
    """A chunk's vector is made from its prose sentences and the rest of its lines (headings, code), embedded
    apart: dense search finds the chunk by either, and a chunk of code alone by its code."""
    from index.retrieval import Retriever

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "install.md").write_text(
        "# Installing the reader\n\nThe installer copies every file into your home folder and never asks for an "
        "administrator's password.\n\n    pip install ragqa --upgrade\n    ragqa serve --port 8000\n", encoding="utf-8")
    (folder / "shell.md").write_text("## Cleaning up\n\n    rm -rf build dist\n    git clean -fdx\n", encoding="utf-8")
    (folder / "bread.txt").write_text("A sourdough loaf needs flour, water, salt and a starter culture that is fed "
                                      "every day, and it rises slowly overnight in a cool kitchen.", encoding="utf-8")
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(folder)
    dense = Retriever(index, embedder, "dense")
    try:
        assert dense.search("Does setup need admin rights?", 1)[0].source == "install.md"
        assert dense.search("pip install ragqa --upgrade", 1)[0].source == "install.md"
        assert dense.search("git clean -fdx", 1)[0].source == "shell.md"
    finally:
        index.close()


def test_sentence_vectors_are_added_to_an_index_built_without_them_and_dropped_when_turned_off(
        docs_folder, tmp_path, embedder, chunker):
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker, sentence_vectors=False).run(docs_folder)
    assert not index.store.has_sentence_vectors()
    old_generation = index.store.generation

    # The next run finds every file unchanged, yet embeds the sentences of the chunks it already holds.
    report = IngestPipeline(index, embedder, chunker).run(docs_folder)
    assert report.unchanged and not report.added and index.store.has_sentence_vectors()
    assert not index.store.chunks_without_sentence_vectors()
    assert index.store.generation > old_generation  # a running service re-reads the index

    fresh = IndexDirectory.open_for_writing(tmp_path / "fresh", embedder.name, embedder.dimension)
    IngestPipeline(fresh, embedder, chunker).run(docs_folder)
    ids = sorted(index.store.chunk_ids())
    backfilled = index.store.sentence_vectors(ids, embedder.dimension)
    built = fresh.store.sentence_vectors(sorted(fresh.store.chunk_ids()), embedder.dimension)
    assert [v.shape for v in backfilled.values()] == [v.shape for v in built.values()]
    assert any(len(v) for v in built.values())

    IngestPipeline(index, embedder, chunker, sentence_vectors=False).run(docs_folder)
    assert not index.store.has_sentence_vectors()
    index.close()
    fresh.close()


def test_an_index_read_by_an_older_version_is_read_again_once(docs_folder, tmp_path, embedder, chunker):
    """A loader fix (HTML tables, say) must reach files whose bytes did not change: ingest re-reads them once."""
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    first = IngestPipeline(index, embedder, chunker).run(docs_folder)
    index.store.set_meta("reader_version", "1")  # as an older ragqa left it
    again = IngestPipeline(index, embedder, chunker).run(docs_folder)
    assert sorted(again.updated) == sorted(first.added) and not again.unchanged and again.chunks_embedded
    then = IngestPipeline(index, embedder, chunker).run(docs_folder)
    assert sorted(then.unchanged) == sorted(first.added) and then.chunks_embedded == 0
    index.close()
