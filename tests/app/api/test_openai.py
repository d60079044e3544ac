"""The OpenAI-compatible API, used through the `openai` package, and a second service generating through the first.

The first server (the `engine` fixture) offers /v1 over its index; the second is configured with
RAGQA_GENERATOR_URL pointing at the first's /v1, loads no language model, and answers from its
own index, which holds a document the first one's does not.
"""
from __future__ import annotations

import os

import openai
import pytest

from app.generation.remote import GeneratorUnavailableError, RemoteGenerator
from bench.server_process import free_port, running_server
from tests.conftest import DOCUMENTS, run_ingest, write_documents

pytestmark = pytest.mark.slow

QUESTION = "When was the lighthouse at Varnholm converted to electricity?"
OBSERVATORY = "The observatory on Mount Kessel houses a telescope whose mirror measures 3.5 metres across."


@pytest.fixture(scope="module")
def client(engine) -> openai.OpenAI:
    return openai.OpenAI(base_url=str(engine.base_url).rstrip("/") + "/v1", api_key="unused", max_retries=0)


def test_models_lists_the_answering_service_and_the_plain_model(client):
    assert {m.id for m in client.models.list()} == {"ragqa", "smollm2-135m"}


def test_a_chat_completion_answers_the_last_user_message_with_citations(client):
    completion = client.chat.completions.create(
        model="ragqa", messages=[{"role": "user", "content": "Hello."}, {"role": "user", "content": QUESTION}])
    answer = completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop" and answer
    extra = completion.model_extra
    assert extra["citations"][0]["source"] == "lighthouse.txt" and extra["abstained"] is False
    assert extra["quote"]["source"] == "lighthouse.txt" and extra["answer"] == answer


def test_a_streamed_chat_completion_sends_pieces_then_citations(client):
    chunks = list(client.chat.completions.create(model="ragqa", messages=[{"role": "user", "content": QUESTION}],
                                                 stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(chunks) > 2 and text.strip()
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"][0]["source"] == "lighthouse.txt"
    assert last.model_extra["answer"].split()[0] in text


def test_an_explanation_streams_its_sentences_and_ends_with_their_support(client):
    chunks = list(client.chat.completions.create(
        model="ragqa", messages=[{"role": "user", "content": "Describe the lighthouse at Varnholm."}], stream=True,
        extra_body={"style": "explain"}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    extra = chunks[-1].model_extra
    assert extra["shape"] == "explain" and text == extra["answer"]
    assert [s["text"] for s in extra["sentences"]] == [s["support"][0]["text"] for s in extra["sentences"]]
    assert all(f"[{n}]" in text for s in extra["sentences"] for n in s["citations"])


def test_an_unanswerable_streamed_question_still_gives_the_abstention_as_content(client):
    chunks = list(client.chat.completions.create(
        model="ragqa", messages=[{"role": "user", "content": "What is the orbital period of Neptune's moon Triton?"}],
        stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).startswith("The documents do not contain")
    assert chunks[-1].model_extra["abstained"] is True and chunks[-1].model_extra["citations"] == []


def test_the_plain_model_completes_messages_as_given_without_retrieval(client):
    messages = [{"role": "system", "content": "Reply with one word."}, {"role": "user", "content": "Say hello."}]
    completion = client.chat.completions.create(model="smollm2-135m", messages=messages, max_tokens=5)
    assert completion.choices[0].message.content and "citations" not in (completion.model_extra or {})
    assert completion.usage.completion_tokens <= 5 and completion.usage.prompt_tokens > 5
    streamed = client.chat.completions.create(model="smollm2-135m", messages=messages, max_tokens=5, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices).strip() == \
        completion.choices[0].message.content


def test_a_bad_chat_request_gets_422_not_a_traceback(engine):
    response = engine.post("/v1/chat/completions", json={"model": "ragqa", "messages": [{"role": "system", "content": "x"}]})
    assert response.status_code == 422 and "question" in response.json()["detail"]
    assert engine.post("/v1/chat/completions", json={"messages": []}).status_code == 422


@pytest.fixture(scope="module")
def replica(engine, tmp_path_factory):
    """A second service with its own index, generating through the engine's /v1."""
    work = tmp_path_factory.mktemp("replica")
    docs = write_documents(work / "docs", {**DOCUMENTS, "observatory.txt": OBSERVATORY})
    run_ingest(docs, work / "index", dict(os.environ))
    env = {"RAGQA_INDEX_DIR": str(work / "index"), "RAGQA_GENERATOR_URL": str(engine.base_url).rstrip("/") + "/v1",
           "RAGQA_MODEL": "not-loaded-by-a-replica"}
    with running_server(env, work / "server.log") as (replica_client, _, _):
        yield replica_client


def test_a_replica_answers_from_its_own_index_with_the_engine_generating(replica):
    ready = replica.get("/readyz").json()
    assert ready["model"] == "smollm2-135m", "the model name comes from the engine's /v1/models"
    body = replica.post("/ask", json={"question": "How wide is the mirror of the telescope on Mount Kessel?"}).json()
    assert body["citations"][0]["source"] == "observatory.txt"  # only the replica's index holds it
    assert body["timings_ms"]["generation"] > 0 and body["model"] == "smollm2-135m"
    with replica.stream("POST", "/ask", json={"question": QUESTION, "stream": True}) as response:
        lines = [line for line in response.iter_lines() if line.startswith("event: ")]
    assert lines[0] == "event: token" and lines[-1] == "event: done"


def test_an_unreachable_generator_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(GeneratorUnavailableError, match="unreachable"):
        RemoteGenerator(url)
    generator = RemoteGenerator(url, model="any")
    with pytest.raises(GeneratorUnavailableError, match=url):
        generator.generate([{"role": "user", "content": "hi"}], 4)


FOLLOW_UP = [{"role": "system", "content": "You are a helpful assistant."},
             {"role": "user", "content": "Who built the lighthouse at Varnholm?"}]


@pytest.mark.parametrize("stream", [False, True])
def test_a_multi_turn_chat_answers_the_follow_up_in_context(client, stream):
    first = client.chat.completions.create(model="ragqa", messages=FOLLOW_UP)
    messages = [*FOLLOW_UP, {"role": "assistant", "content": first.choices[0].message.content},
                {"role": "user", "content": "When was it converted to electricity?"}]
    if stream:
        chunks = list(client.chat.completions.create(model="ragqa", messages=messages, stream=True))
        extra = chunks[-1].model_extra
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()
    else:
        extra = client.chat.completions.create(model="ragqa", messages=messages).model_extra
    assert first.model_extra["standalone_question"] == "Who built the lighthouse at Varnholm?"
    searched = extra["standalone_question"]
    assert searched != "When was it converted to electricity?"
    assert any(phrase in searched for phrase in ("lighthouse", "Varnholm", "Ada Brook")), searched
    assert extra["citations"][0]["source"] == "lighthouse.txt"
