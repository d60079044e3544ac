"""Re-ingesting while the service runs: it keeps answering, then serves the new index without a restart."""
from __future__ import annotations

import os
import threading
import time

import pytest

from bench.server_process import running_server, wait_for
from tests.conftest import DOCUMENTS, run_ingest, write_documents

pytestmark = pytest.mark.slow

NEW_FACT = "The observatory on Mount Kessel houses a telescope whose mirror measures 3.5 metres across."


def test_reingest_switches_the_index_while_requests_keep_succeeding(tmp_path):
    docs, index_dir = write_documents(tmp_path / "docs"), tmp_path / "index"
    env = {**os.environ, "RAGQA_INDEX_DIR": str(index_dir), "RAGQA_MODEL": "smollm2-135m",
           "RAGQA_INDEX_RELOAD_SECONDS": "0.5"}
    run_ingest(docs, index_dir, env)
    with running_server(env, tmp_path / "server.log") as (client, _, _):
        statuses: list[int] = []
        stop = threading.Event()

        def keep_asking() -> None:  # continuous traffic across the switch
            while not stop.is_set():
                statuses.append(client.post("/search", json={"query": "lighthouse observatory telescope"}).status_code)
                statuses.append(client.get("/readyz").status_code)

        traffic = threading.Thread(target=keep_asking)
        traffic.start()
        try:
            before = client.post("/search", json={"query": "telescope mirror Mount Kessel", "top_k": 3}).json()["hits"]
            assert all(h["source"] != "observatory.txt" for h in before)

            write_documents(docs, {"observatory.txt": NEW_FACT})
            (docs / "lighthouse.txt").unlink()
            run_ingest(docs, index_dir, env)

            def switched():
                hits = client.post("/search", json={"query": "telescope mirror Mount Kessel", "top_k": 3}).json()["hits"]
                return hits if hits[0]["source"] == "observatory.txt" else None

            hits = wait_for(switched, 10, "/search to see the re-ingested document")
            assert hits[0]["text"] == NEW_FACT
            time.sleep(0.5)  # a little traffic on the new snapshot too
        finally:
            stop.set()
            traffic.join()
        sources = {h["source"] for h in client.post("/search", json={"query": "lighthouse Varnholm", "top_k": 5}).json()["hits"]}
        assert "lighthouse.txt" not in sources
        ready = client.get("/readyz").json()
        assert ready["documents"] == len(DOCUMENTS)  # one removed, one added
    assert len(statuses) > 10 and set(statuses) == {200}, f"statuses during the switch: {sorted(set(statuses))}"
