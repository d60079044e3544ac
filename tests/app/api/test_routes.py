"""End to end: a real uvicorn process over a real index, reached with httpx, from waiting to answering."""
from __future__ import annotations

import os
import time

import pytest

from bench.server_process import running_server, wait_for
from tests.conftest import run_ingest, write_documents

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The service started *before* its index exists, then the documents ingested by the CLI."""
    work = tmp_path_factory.mktemp("e2e")
    docs, index_dir = write_documents(work / "docs"), work / "index"
    # A generous queue timeout: the tests below ask several questions at once on a possibly busy machine.
    env = {"RAGQA_INDEX_DIR": str(index_dir), "RAGQA_MODEL": "smollm2-135m", "RAGQA_QUEUE_TIMEOUT_S": "600"}
    with running_server(env, work / "server.log", ready=False) as (client, _, _):
        not_ready = wait_for(lambda: (r := client.get("/readyz")).json().get("status") == "waiting" and r, 120,
                             "/readyz to say it waits for an index")
        run_ingest(docs, index_dir, {**os.environ, **env})
        wait_for(lambda: client.get("/readyz").status_code == 200, 60, "/readyz 200")
        yield client, docs, not_ready


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


def test_an_explanation_is_sentences_each_resting_on_a_verbatim_span(server):
    client, docs, _ = server
    body = client.post("/ask", json={"question": "Describe the lighthouse at Varnholm.", "style": "explain"}).json()
    assert body["abstained"] is False and body["shape"] == "explain"
    assert 1 <= len(body["sentences"]) <= 4
    for sentence in body["sentences"]:
        for n in sentence["citations"]:  # each marker [n] points at the citation holding the support
            assert f"[{n}]" in body["answer"]
            assert any(span["source"] == body["citations"][n - 1]["source"] for span in sentence["support"])
        for span in sentence["support"]:
            document = (docs / span["source"]).read_text(encoding="utf-8")
            assert document[span["start"]:span["end"]] == span["text"]
    assert body["sentences"][0]["support"][0]["source"] == "lighthouse.txt" and "1872" in body["answer"]
    assert "generation" not in body["timings_ms"]  # composed of the documents' sentences, not written by the model


def test_a_short_answer_has_the_same_shape_one_sentence_supported_by_its_quote(server):
    client, _, _ = server
    body = client.post("/ask", json={"question": "Who built the lighthouse at Varnholm?", "style": "short"}).json()
    assert body["shape"] == "short"
    if not body["abstained"]:
        [sentence] = body["sentences"]
        assert sentence["text"] == body["answer"]
        assert sentence["support"][0]["text"] == body["quote"]["text"]
        assert body["citations"][sentence["citations"][0] - 1]["chunk_id"] == body["quote"]["chunk_id"]


def test_an_unknown_style_gets_422_naming_the_allowed_ones(server):
    client, _, _ = server
    response = client.post("/ask", json={"question": "Why?", "style": "long"})
    assert response.status_code == 422
    assert all(style in response.text for style in ("auto", "short", "explain"))


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
    {"question": "ok?", "style": "Explain"},
    {"question": "ok?", "style": None},
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
