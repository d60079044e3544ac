"""Serving end to end: streamed answers (Server-Sent Events) and the bounded generation queue, on a real uvicorn process."""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

QUESTION = "When was the lighthouse at Varnholm converted to electricity?"


def read_events(response: httpx.Response) -> list[tuple[str, dict, float]]:
    """(event, data, seconds since the request) for each Server-Sent Event of a streamed response."""
    started, events, event = time.perf_counter(), [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((event, json.loads(line[len("data: "):]), time.perf_counter() - started))
    return events


def ask_streaming(client: httpx.Client, question: str, **extra) -> tuple[httpx.Response, list]:
    with client.stream("POST", "/ask", json={"question": question, "stream": True, **extra}) as response:
        return response, read_events(response) if response.status_code == 200 else response.read()


def test_a_streamed_answer_sends_tokens_as_they_come_then_the_full_answer(engine):
    response, events = ask_streaming(engine, QUESTION)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _, _ in events]
    assert names[-1] == "done" and set(names[:-1]) == {"token"} and len(names) > 2
    tokens = [data["text"] for name, data, _ in events if name == "token"]
    assert events[0][2] < events[-1][2], "the first token arrives before the answer is complete"
    done = events[-1][1]
    plain = engine.post("/ask", json={"question": QUESTION}).json()
    assert done["answer"] == plain["answer"] and done["citations"] == plain["citations"]
    assert done["quote"] == plain["quote"] and done["citations"][0]["source"] == "lighthouse.txt"
    # the final answer is the cleaned form of the streamed text
    assert done["answer"].split()[0] in "".join(tokens)


def test_a_streamed_explanation_sends_its_sentences_then_their_grounding(engine):
    _, events = ask_streaming(engine, "Describe the lighthouse at Varnholm.", style="explain")
    names = [name for name, _, _ in events]
    done = events[-1][1]
    assert names[-1] == "done" and done["shape"] == "explain"
    assert names.count("token") == len(done["sentences"]) >= 2  # one event per sentence, with its markers
    assert "".join(data["text"] for name, data, _ in events if name == "token") == done["answer"]
    assert all(s["support"] and s["citations"] for s in done["sentences"])


def test_a_streamed_abstention_sends_no_tokens(engine):
    _, events = ask_streaming(engine, "What is the orbital period of Neptune's moon Triton?")
    assert [name for name, _, _ in events] == ["done"]
    assert events[0][1]["abstained"] is True


def test_a_streamed_request_with_bad_input_gets_an_ordinary_422(engine):
    response = engine.post("/ask", json={"question": " ", "stream": True})
    assert response.status_code == 422 and response.headers["content-type"] == "application/json"


def test_a_full_queue_answers_503_with_retry_after_and_serves_the_rest(engine):
    """At least one generates and two wait; the others are refused at once; nobody hangs, and the server recovers."""
    questions = [f"{QUESTION} ({n})" for n in range(7)]
    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        responses = list(pool.map(lambda q: engine.post("/ask", json={"question": q, "stream": q.endswith("(6)")}),
                                  questions))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 3 and statuses.count(503) >= 1 and set(statuses) == {200, 503}, statuses
    for refused in (r for r in responses if r.status_code == 503):  # a refused streamed request too: plain JSON
        assert int(refused.headers["Retry-After"]) >= 1 and "waiting" in refused.json()["detail"]
    assert engine.post("/ask", json={"question": QUESTION}).status_code == 200


def _nice_by_thread(pid: int) -> dict[int, int]:
    """Each thread of `pid` and its nice value (field 19 of /proc/<pid>/task/<tid>/stat)."""
    nice = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()
        nice[int(task.name)] = int(fields[16])
    return nice


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="per-thread priorities are read from Linux's /proc")
def test_the_model_works_below_the_event_loops_priority(engine_server):
    """The threads that embed and generate yield the CPU to the event loop, so light requests answer promptly."""
    client, process = engine_server
    assert client.post("/ask", json={"question": "How tall is the Varnholm lighthouse?"}).status_code == 200
    nice = _nice_by_thread(process.pid)
    inherited = os.nice(0)  # the server starts at the test runner's own priority (0 unless run under `nice`)
    assert nice[process.pid] == inherited  # the main thread: uvicorn's event loop
    lowered = max(inherited, 10)  # RAGQA_WORKER_NICE=10: worker threads raise their nice value to 10
    assert sum(1 for tid, value in nice.items() if value == lowered) >= 3  # loader's pools, generation, evidence workers
