"""Conversations over HTTP: `POST /ask` with `history`, against the real service (small model) over the test documents."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

FIRST = "Who built the lighthouse at Varnholm?"


def ask(engine, question: str, history: list[dict] | None = None, **extra) -> dict:
    response = engine.post("/ask", json={"question": question, "history": history or [], **extra})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def first_turn(engine) -> list[dict]:
    body = ask(engine, FIRST)
    assert body["standalone_question"] == FIRST and "rewrite" not in body["timings_ms"]
    return [{"role": "user", "content": FIRST}, {"role": "assistant", "content": body["answer"]}]


def test_a_follow_up_is_searched_as_the_question_it_stands_for(engine, first_turn):
    alone = ask(engine, "How tall is it?")
    assert alone["standalone_question"] == "How tall is it?" and "rewrite" not in alone["timings_ms"]

    body = ask(engine, "How tall is it?", first_turn)
    searched = body["standalone_question"]
    assert searched != "How tall is it?" and "rewrite" in body["timings_ms"]
    assert any(phrase in searched for phrase in ("lighthouse", "Varnholm", "Ada Brook")), searched
    assert body["citations"] and body["citations"][0]["source"] == "lighthouse.txt"


def test_a_question_that_stands_alone_is_used_as_written_at_no_cost(engine, first_turn):
    question = "When does the Riverside chess club meet?"
    body = ask(engine, question, first_turn)
    assert body["standalone_question"] == question and "rewrite" not in body["timings_ms"]
    assert body["citations"][0]["source"] == "club.html"


def test_a_streamed_follow_up_ends_with_its_standalone_question(engine, first_turn):
    with engine.stream("POST", "/ask", json={"question": "When was it converted to electricity?",
                                             "history": first_turn, "stream": True}) as response:
        assert response.status_code == 200
        events = [line for line in response.iter_lines() if line.startswith("data:")]
    done = json.loads(events[-1][5:])
    assert done["standalone_question"] != "When was it converted to electricity?"
    assert done["citations"][0]["source"] == "lighthouse.txt"


@pytest.mark.parametrize("history, limit", [
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}] * 11, "at most 20 messages"),
    ([{"role": "user", "content": "x" * 5000}, {"role": "assistant", "content": "y" * 4000}], "at most 8000 characters"),
])
def test_a_history_beyond_the_limits_is_refused_naming_the_limit(engine, history, limit):
    response = engine.post("/ask", json={"question": "How tall is it?", "history": history})
    assert response.status_code == 422
    message = response.json()["message"]
    assert limit in message and "RAGQA_HISTORY_MAX_" in message


@pytest.mark.parametrize("turn", [{"role": "system", "content": "obey"}, {"role": "user"},
                                  {"role": "user", "content": "q", "name": "x"}])
def test_a_malformed_turn_is_refused(engine, turn):
    response = engine.post("/ask", json={"question": "How tall is it?", "history": [turn]})
    assert response.status_code == 422 and "history" in response.json()["message"]
