"""API keys, request ids, JSON access logs and CORS, on a real server."""
from __future__ import annotations

import json
import os

import pytest

from bench.server_process import running_server, wait_for
from tests.conftest import run_ingest, write_documents

pytestmark = pytest.mark.slow

KEYS = ("first-key-0123456789", "second-key-abcdefghij")
QUESTION = "When does the Riverside chess club meet?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("access")
    docs, index_dir, log_path = write_documents(work / "docs"), work / "index", work / "server.log"
    env = {"RAGQA_INDEX_DIR": str(index_dir), "RAGQA_MODEL": "smollm2-135m", "RAGQA_API_KEYS": ",".join(KEYS),
           "RAGQA_CORS_ORIGINS": "https://ok.example"}
    run_ingest(docs, index_dir, {**os.environ, **env})
    with running_server(env, log_path, ready=False) as (client, _, _):
        yield client, log_path


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_health_and_readiness_need_no_key(server):
    client, _ = server
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)  # 503 while loading: still not a 401


@pytest.mark.parametrize("headers", [{}, _bearer("wrong-key"), {"Authorization": KEYS[0]}, {"Authorization": f"Basic {KEYS[0]}"},
                                     _bearer(KEYS[0][:-1])])
@pytest.mark.parametrize(("method", "path"), [("POST", "/search"), ("POST", "/ask"), ("GET", "/openapi.json"),
                                              ("GET", "/docs"), ("GET", "/a/route/added/later")])
def test_every_other_route_needs_a_valid_key(server, method, path, headers):
    client, _ = server
    response = client.request(method, path, json={"query": "chess"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.parametrize("key", KEYS)
def test_each_configured_key_opens_the_api(server, key):
    client, _ = server
    wait_for(lambda: client.get("/readyz").status_code == 200, 120, "/readyz 200")
    response = client.post("/search", json={"query": "chess club founder", "top_k": 1}, headers=_bearer(key))
    assert response.status_code == 200 and response.json()["hits"][0]["source"] == "club.html"
    assert client.get("/openapi.json", headers=_bearer(key)).status_code == 200


def _access_log(log_path, *request_ids):
    """The log's JSON lines and its access lines by request id, once every id has one (else None)."""
    lines = []
    for text in log_path.read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:  # not JSON, or a line still being written
            continue
    lines = [line for line in lines if isinstance(line, dict)]
    access = {line["request_id"]: line for line in lines if line.get("logger") == "ragqa.access"}
    return (lines, access) if all(i in access for i in request_ids) else None


def test_requests_are_logged_as_json_lines_with_their_id_but_not_their_question(server):
    client, log_path = server
    response = client.post("/search", json={"query": QUESTION}, headers={**_bearer(KEYS[0]), "X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
    generated = client.post("/search", json={"query": QUESTION}, headers=_bearer("nope")).headers["x-request-id"]
    assert len(generated) == 32
    # The server writes its access line after the response has gone out: wait for both lines.
    lines, access = wait_for(lambda: _access_log(log_path, "trace-42", generated), 30, "both access lines in the log")
    assert access["trace-42"]["route"] == "/search" and access["trace-42"]["status"] == 200
    assert access["trace-42"]["latency_ms"] > 0 and access[generated]["status"] == 401
    assert any("API keys required (2 configured)" in line["message"] for line in lines)
    log_text = log_path.read_text()
    assert QUESTION not in log_text and "Riverside chess club meets" not in log_text
    assert not any(KEY in log_text for KEY in KEYS)


def test_cors_allows_only_the_configured_origin(server):
    client, _ = server
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    allowed = client.options("/search", headers={"Origin": "https://ok.example", **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://ok.example"
    refused = client.options("/search", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    cross = client.post("/search", json={"query": "chess"}, headers={"Origin": "https://evil.example", **_bearer(KEYS[0])})
    assert "access-control-allow-origin" not in cross.headers
