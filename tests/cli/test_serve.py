"""`ragqa serve` as `make run` and the container run it: ingest the folder at start, then serve; a stop during
that ingest exits cleanly, keeps what was committed, and the next start completes it before it is ready."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from bench.server_process import ROOT, free_port, running_server
from tests.conftest import ragqa_command

pytestmark = pytest.mark.slow

FILES = 500
WORDS = "river stone lamp harbour engine winter orchard signal copper meadow lantern valley bridge clock".split()


def write_notes(folder, count: int) -> None:
    folder.mkdir(parents=True)
    rng = random.Random(7)
    for n in range(count):
        sentences = [" ".join(rng.choices(WORDS, k=12)).capitalize() + f" ({n}-{i})." for i in range(14)]
        (folder / f"note-{n:03d}.txt").write_text(" ".join(sentences), encoding="utf-8")


def committed_documents(index) -> int:
    try:
        with sqlite3.connect(f"file:{index / 'chunks.sqlite'}?mode=ro", uri=True) as db:
            return db.execute("select count(*) from documents").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def test_a_stop_during_the_start_up_ingest_is_clean_and_the_restart_completes_it(tmp_path):
    docs, index, log = tmp_path / "docs", tmp_path / "index", tmp_path / "serve.log"
    write_notes(docs, FILES)
    env = {"RAGQA_DOCS_DIR": str(docs), "RAGQA_INDEX_DIR": str(index), "RAGQA_MODEL": "smollm2-135m"}
    with open(log, "wb") as out:
        serve = subprocess.Popen([*ragqa_command(), "serve", "--port", str(free_port())], cwd=ROOT,
                                 env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while committed_documents(index) == 0 and serve.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert committed_documents(index) > 0, log.read_text()[-2000:]
        serve.send_signal(signal.SIGTERM)
        returncode = serve.wait(timeout=60)
    finally:
        if serve.poll() is None:
            serve.kill()
    output = log.read_text()
    assert returncode == 128 + signal.SIGTERM, output[-2000:]
    assert "ingest stopped" in output and "Traceback" not in output, output[-2000:]
    committed = committed_documents(index)
    assert 0 < committed < FILES, "the stop came after the ingest had finished: use a larger folder"

    # Started again over the same folder and index: ready only once the folder is indexed in full.
    with running_server(env, log, command=[*ragqa_command(), "serve"]) as served:
        ready = served.client.get("/readyz").json()
    assert ready["documents"] == FILES, ready
    runs = [json.loads(line) for line in log.read_text().splitlines() if '"chunks_embedded"' in line]
    assert runs[-1]["added"] == FILES - committed, runs[-1]  # the restart added only what the stop left out



def test_a_taken_port_ends_serve_with_the_reason_and_stops_its_ingest(tmp_path):
    docs, index = tmp_path / "docs", tmp_path / "index"
    write_notes(docs, FILES)
    env = {"RAGQA_DOCS_DIR": str(docs), "RAGQA_INDEX_DIR": str(index), "RAGQA_MODEL": "smollm2-135m"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # (run returns once every writer of the output has ended: `ragqa serve` and its ingest child)
        result = subprocess.run([*ragqa_command(), "serve", "--port", str(port)], cwd=ROOT, env={**os.environ, **env},
                                capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert "address already in use" in output and "Traceback" not in output, output[-2000:]
    assert committed_documents(index) < FILES, "the ingest went on after `ragqa serve` had failed"
