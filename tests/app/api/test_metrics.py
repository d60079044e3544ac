"""`GET /metrics` in the Prometheus format: requests per route template, answers, abstentions, tokens, queue, index."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def samples(client) -> dict[str, float]:
    found = {}
    for line in client.get("/metrics").text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def test_an_answer_and_an_abstention_are_counted_with_the_route_template_and_the_index(engine):
    before = samples(engine)
    answered = engine.post("/ask", json={"question": "When was the lighthouse at Varnholm converted to electricity?"})
    assert answered.status_code == 200
    abstained = engine.post("/ask", json={"question": "What is the airspeed velocity of an unladen swallow?"}).json()
    assert abstained["abstained"]
    assert engine.delete("/documents/999999").status_code == 404
    after = samples(engine)

    def grew(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('ragqa_http_requests_total{method="POST",route="/ask",status="200"}') == 2
    assert grew('ragqa_http_requests_total{method="DELETE",route="/documents/{document_id}",status="404"}') == 1
    assert grew("ragqa_answers_total") == 2 and grew("ragqa_abstentions_total") >= 1
    assert after["ragqa_index_documents"] == 3 and after["ragqa_index_chunks"] >= 3
    assert after["ragqa_queue_depth"] == 0 and after["ragqa_ready"] == 1
    assert "ragqa_unsupported_sentences_total" in after  # answer sentences removed for lack of support
