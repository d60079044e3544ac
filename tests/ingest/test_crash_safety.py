"""`python -m ingest` killed with SIGKILL at 20 seeded moments: nothing committed is lost, the index stays
consistent, and a re-run ends exactly where an uninterrupted run does (same chunk ids, same search results).

Each round edits the folder (changes, deletions, additions), ingests it uninterrupted into a reference
index, then runs the real CLI on the tested index and kills it: during start-up after a seeded delay,
or once a seeded number of its document transactions have committed (watched through SQLite).
"""
from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.settings import Settings
from index.directory import DESCRIPTION_FILE, STORE_FILE, VECTORS_STAMP_FILE, IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline
from tests.ingest.corpus import Corpus

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261125
KILLS = 20
DOCUMENTS = 44
QUERIES = ["harbour authority rebuilt after a flood", "who kept the minutes of the choir", "seed library charter vote",
           "ferry company of Saltmere", "glass museum prize"]
_TOKEN = re.compile(r"zq\d+x\d+k")


def _ingest_in_process(folder: Path, index_dir: Path, embedder):
    """As the CLI ingests (the settings' document embedder: int8, one chunk at a time), in this process."""
    index = IndexDirectory.open_for_writing(index_dir, embedder.name, embedder.dimension)
    try:
        return IngestPipeline.from_settings(index, embedder, Settings()).run(folder)
    finally:
        index.close()


def _open(index_dir: Path, embedder) -> IndexDirectory:
    """What the next reader gets: the finished index, or (killed in its very first run) what ingest would reopen."""
    if (index_dir / DESCRIPTION_FILE).is_file():
        return IndexDirectory.open(index_dir, embedder.name, snapshot=True)
    return IndexDirectory.open_for_writing(index_dir, embedder.name, embedder.dimension)


def _folder_hashes(corpus: Corpus) -> dict[str, str]:
    return {source: hashlib.sha256((corpus.folder / source).read_bytes()).hexdigest() for source in corpus.alive()}


def _state(index_dir: Path, embedder) -> dict:
    """Everything a user could observe: documents, chunks with their ids, vectors, generation, search results."""
    index = _open(index_dir, embedder)
    try:
        rows = index.store.db.execute(
            "SELECT c.id, d.source, c.ordinal, c.start, c.end, c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
            "ORDER BY c.id").fetchall()
        retriever = Retriever(index, embedder, "hybrid")
        return {
            "documents": sorted((d.source, d.content_hash, d.size, d.chunk_count) for d in index.store.documents()),
            "chunks": [tuple(r) for r in rows],
            "vectors": sorted(index.vectors.ids()),
            "generation": index.store.generation,
            "search": [[(h.chunk_id, h.source, round(h.score, 6)) for h in retriever.search(q, 5)] for q in QUERIES],
        }
    finally:
        index.close()


def _kill_ingest(corpus: Corpus, index_dir: Path, moment: tuple[str, float]) -> dict:
    """Run the real CLI and SIGKILL it at `moment`; returns what the watcher saw just before the kill."""
    base = IndexDirectory.committed_generation(index_dir)
    process = subprocess.Popen([sys.executable, "-m", "ingest", str(corpus.folder), "--index", str(index_dir)],
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    observed: dict[str, str] = {}
    kind, value = moment
    if kind == "startup":
        time.sleep(value)
    else:  # wait for the value-th committed document transaction of this run
        watcher, deadline = None, time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            try:
                watcher = watcher or sqlite3.connect(f"file:{index_dir / STORE_FILE}?mode=ro", uri=True, isolation_level=None)
                row = watcher.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
                if row and int(row[0]) >= base + value:
                    observed = dict(watcher.execute("SELECT source, content_hash FROM documents").fetchall())
                    break
            except sqlite3.Error:  # not created yet
                watcher = None
            time.sleep(0.001)
        if watcher:
            watcher.close()
    os.kill(process.pid, signal.SIGKILL)
    returncode = process.wait()
    return {"returncode": returncode, "observed": observed,
            "commits": IndexDirectory.committed_generation(index_dir) - base}


def _check_after_kill(index_dir: Path, embedder, corpus: Corpus, before: dict[str, str], observed: dict[str, str]) -> None:
    now = _folder_hashes(corpus)
    index = _open(index_dir, embedder)
    try:
        store = index.store
        assert index.vectors.ids() == store.chunk_ids(), "every vector has its chunk and every chunk its vector"
        stored = store.manifest()
        for document in store.documents():
            source = document.source
            assert document.chunk_count >= 1, source
            assert stored[source] in {before.get(source), now.get(source)}, f"{source} is a version the folder held"
        for source, content_hash in before.items():  # committed by earlier runs and unchanged since: still there
            if now.get(source) == content_hash:
                assert stored.get(source) == content_hash, f"{source} was lost"
        for source, content_hash in observed.items():  # committed by the killed run before the kill
            assert stored.get(source) in {content_hash, now.get(source)}, f"{source} committed before the kill was lost"
        for source, text in store.db.execute("SELECT source, text FROM documents").fetchall():
            chunks = store.db.execute("SELECT c.id, c.start, c.end, c.text FROM chunks c JOIN documents d "
                                      "ON d.id = c.document_id WHERE d.source = ?", (source,)).fetchall()
            assert all(text[start:end] == chunk for _, start, end, chunk in chunks)
            found = {i for i, _ in store.keyword_search(_TOKEN.search(text).group(), 3)}  # searchable by keyword
            assert found & {c[0] for c in chunks}, f"{source} is not found by its keyword"
            first = chunks[0][0]  # and by its vector
            assert index.vectors.search(store.embeddings([first])[0], 1)[0][0] == first
    finally:
        index.close()


def test_ingest_killed_at_20_moments_loses_nothing_and_recovers_exactly(tmp_path, embedder):
    corpus = Corpus(tmp_path / "docs", SEED).create(DOCUMENTS)
    tested, reference = tmp_path / "index", tmp_path / "reference"
    rng = random.Random(SEED)
    survived, moments = 0, []
    for round_number in range(KILLS):
        if round_number:
            corpus.edit(rng, changes=rng.randint(4, 8), deletions=rng.randint(1, 2), additions=rng.randint(1, 2))
        assert len(corpus.alive()) >= 40
        before = _open_manifest(tested, embedder) if tested.exists() else {}
        report = _ingest_in_process(corpus.folder, reference, embedder)  # the uninterrupted run
        writes = len(report.added) + len(report.updated) + len(report.removed)  # one transaction each
        moment = ("startup", rng.uniform(0.2, 1.5)) if rng.random() < 0.25 else ("commits", rng.randint(1, writes - 1))
        stamp_before = (tested / VECTORS_STAMP_FILE).read_text() if (tested / VECTORS_STAMP_FILE).exists() else None

        outcome = _kill_ingest(corpus, tested, moment)
        assert outcome["returncode"] == -signal.SIGKILL, f"round {round_number}: ingest ended before the kill ({outcome})"
        _check_after_kill(tested, embedder, corpus, before, outcome["observed"])
        flushed = (tested / VECTORS_STAMP_FILE).exists() and (tested / VECTORS_STAMP_FILE).read_text() != stamp_before

        if round_number == KILLS - 1:  # the last re-run is the CLI itself, as a user would do it
            done = subprocess.run([sys.executable, "-m", "ingest", str(corpus.folder), "--index", str(tested)],
                                  cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr
        else:
            _ingest_in_process(corpus.folder, tested, embedder)
        assert _state(tested, embedder) == _state(reference, embedder), f"round {round_number}: re-run differs"
        survived += 1
        moments.append(f"{moment[0]}:{outcome['commits']}/{writes}{'+flush' if flushed else ''}")
    print(f"\ncrash safety: {survived}/{KILLS} kills survived; moments (kind:commits before the kill/writes of the run): "
          + ", ".join(moments))
    assert survived == KILLS


def _open_manifest(index_dir: Path, embedder) -> dict[str, str]:
    index = _open(index_dir, embedder)
    try:
        return index.store.manifest()
    finally:
        index.close()
