"""End to end: a real uvicorn process over a real index, reached with httpx, from waiting to answering."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import DOCUMENTS
from tests.e2e.server_process import free_port as _free_port
from tests.e2e.server_process import wait_for as _wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """The service started *before* its index exists, then the documents ingested by the CLI."""
    root = request.config.rootpath
    work = tmp_path_factory.mktemp("e2e")
    docs, index_dir = work / "docs", work / "index"
    for name, text in DOCUMENTS.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    port = _free_port()
    env = {**os.environ, "RAGQA_INDEX_DIR": str(index_dir), "RAGQA_MODEL": "smollm2-135m"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        _wait_for(lambda: client.get("/healthz").status_code == 200, 60, "/healthz")
        not_ready = _wait_for(lambda: (r := client.get("/readyz")).json().get("status") == "waiting" and r, 120,
                              "/readyz to say it waits for an index")
        ingest = subprocess.run([sys.executable, "-m", "ingest", str(docs), "--index", str(index_dir)],
                                cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert ingest.returncode == 0, ingest.stderr
        _wait_for(lambda: client.get("/readyz").status_code == 200, 60, "/readyz 200")
        yield client, docs, not_ready
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


def test_readyz_is_503_with_a_reason_before_the_index_is_loaded(server):
    _, _, not_ready = server
    assert not_ready.status_code == 503
    assert "python -m ingest" in not_ready.json()["detail"]


def test_ask_answers_from_the_document_that_holds_the_fact(server):
    client, docs, _ = server
    response = client.post("/ask", json={"question": "How tall is the lighthouse at Varnholm?"})
    assert response.status_code == 200
    body = response.json()
    assert body["abstained"] is False
    # The answer is copied from the documents (the prompt asks for an exact phrase), not invented.
    cited_words = set(" ".join(c["text"] for c in body["citations"]).lower().split())
    answer_words = body["answer"].lower().split()
    assert answer_words and sum(w in cited_words for w in answer_words) >= 0.8 * len(answer_words)
    first = body["citations"][0]
    assert first["source"] == "lighthouse.txt"
    document = (docs / first["source"]).read_text(encoding="utf-8")
    assert document[first["start"]:first["end"]] == first["text"]
    assert body["timings_ms"]["generation"] > 0
    quote = body["quote"]
    quoted_document = (docs / quote["source"]).read_text(encoding="utf-8")
    assert quoted_document[quote["start"]:quote["end"]] == quote["text"]
    assert any(quote["text"] in c["text"] for c in body["citations"])
    assert quote["source"] == "lighthouse.txt"


def test_unrelated_question_abstains_without_citations(server):
    client, _, _ = server
    body = client.post("/ask", json={"question": "What is the orbital period of Neptune's moon Triton?"}).json()
    assert body["abstained"] is True
    assert "do not contain" in body["answer"] and body["citations"] == [] and body["quote"] is None


def test_search_returns_passages_without_the_model(server):
    client, docs, _ = server
    hits = client.post("/search", json={"query": "chess club founder", "top_k": 2}).json()["hits"]
    assert hits[0]["source"] == "club.html" and len(hits) == 2


@pytest.mark.parametrize("body", [
    {"question": ""},
    {"question": "   "},
    {"question": "x" * 2001},
    {"question": "ok?", "top_k": 0},
    {"question": "ok?", "top_k": 21},
    {"top_k": 3},
    {"question": "ok?", "unexpected": 1},
])
def test_bad_requests_get_422_with_a_message(server, body):
    client, _, _ = server
    response = client.post("/ask", json=body)
    assert response.status_code == 422
    assert response.json()["message"]


def test_malformed_json_gets_422_and_huge_body_413(server):
    client, _, _ = server
    broken = client.post("/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and "Traceback" not in broken.text
    huge = client.post("/ask", content=b"{" + b" " * (200 * 1024) + b"}", headers={"content-type": "application/json"})
    assert huge.status_code == 413


def test_docs_page_and_openapi_are_served(server):
    client, _, _ = server
    assert client.get("/docs").status_code == 200
    assert "/ask" in client.get("/openapi.json").json()["paths"]


def test_health_and_search_answer_while_answers_are_being_generated(server):
    """Generation runs off the event loop: other routes don't queue behind it."""
    from concurrent.futures import ThreadPoolExecutor

    client, _, _ = server
    question = {"question": "When was the lighthouse at Varnholm converted to electricity?"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        asks = [pool.submit(client.post, "/ask", json=question) for _ in range(4)]  # served one at a time
        time.sleep(0.3)  # let both reach the server
        assert client.get("/healthz").status_code == 200
        assert client.post("/search", json={"query": "lighthouse"}).status_code == 200
        assert not all(a.done() for a in asks), "health and search came back while generation was still running"
        assert all(a.result().status_code == 200 for a in asks)
