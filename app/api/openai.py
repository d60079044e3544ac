"""OpenAI-compatible routes, so existing clients work unchanged: `POST /v1/chat/completions` and `GET /v1/models`.

Two models are listed. `ragqa` (and any name other than the loaded model's) answers the last
user message like `POST /ask`, with the user and assistant messages before it as its `history`
(system messages are ignored: answers follow ragqa's own instructions): retrieval, the grounded
answer as the message content, and `sentences` (each with its citations and verbatim support),
`citations`, `quote`, `abstained` and `standalone_question` as extra top-level fields (`style`, as
in `POST /ask`, chooses the shape). The loaded model's own name
(`RAGQA_MODEL`, e.g. `qwen2.5-coder-1.5b`) completes the messages as given, with no retrieval:
that is what makes one ragqa server the generator of others (`RAGQA_GENERATOR_URL`). Both go
through the same generation queue, so their requests are batched together. Decoding is greedy
whatever `temperature` says.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from app.api.routes import ServicesDep
from app.api.streaming import error_payload, event_stream, events, stream_pieces
from app.generation.queue import QueuedGeneration
from app.schemas import MAX_QUESTION_CHARS, AskResponse, ErrorResponse, Turn

RAG_MODEL = "ragqa"

openai_router = APIRouter(prefix="/v1", tags=["openai-compatible"],
                          responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict] | None = None

    def text(self) -> str:
        """The message's text; content given as parts keeps its text parts."""
        if isinstance(self.content, list):
            return "".join(part.get("text", "") for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    # OpenAI clients send fields that do not apply here (temperature, n, user, ...): accepted and ignored.
    model_config = ConfigDict(extra="allow")

    model: str = Field(RAG_MODEL, description="`ragqa`: answer with retrieval; the loaded model's name: plain completion.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=2048, description="Plain completion only; answers use RAGQA_MAX_NEW_TOKENS.")
    max_completion_tokens: int | None = Field(None, ge=1, le=2048)
    top_k: int = Field(4, ge=1, le=20, description="ragqa extension: passages to retrieve, as in POST /ask.")
    style: Literal["auto", "short", "explain"] = Field("auto", description="ragqa extension: answer shape, as in POST /ask.")


class _Completion:
    """Builds the response objects of one completion (one id, one creation time)."""

    def __init__(self, model: str) -> None:
        self.id, self.created, self.model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model
        self.sent_text = False

    def whole(self, content: str, finish_reason: str, **extra) -> dict:
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": finish_reason}], **extra}

    def chunk(self, delta: dict, finish_reason: str | None = None, **extra) -> bytes:
        payload = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"

    def piece(self, text: str) -> bytes:
        delta = {"content": text} if self.sent_text else {"role": "assistant", "content": text}
        self.sent_text = True
        return self.chunk(delta)


def _grounding(response: AskResponse) -> dict:
    """The extra fields of an answer: what ragqa adds to an OpenAI completion."""
    return {"sentences": [s.model_dump() for s in response.sentences], "shape": response.shape,
            "citations": [c.model_dump() for c in response.citations],
            "quote": response.quote.model_dump() if response.quote else None,
            "abstained": response.abstained, "answer": response.answer,
            "standalone_question": response.standalone_question}


def _usage(queued: QueuedGeneration) -> dict:
    generation = queued.generation
    return {"prompt_tokens": generation.prompt_tokens, "completion_tokens": generation.new_tokens,
            "total_tokens": generation.prompt_tokens + generation.new_tokens}


@openai_router.get("/models")
async def list_models(services: ServicesDep) -> dict:
    """The models this server offers: the loaded model (plain completion) and `ragqa` (answers with citations)."""
    created = int(time.time())
    return {"object": "list", "data": [
        {"id": model, "object": "model", "created": created, "owned_by": "ragqa"}
        for model in (services.generator.name, RAG_MODEL)
    ]}


@openai_router.post("/chat/completions")
async def chat_completions(body: ChatCompletionRequest, services: ServicesDep):
    """Answer the last user message with retrieval and citations (model `ragqa`), or complete the messages as given."""
    completion = _Completion(body.model)
    if body.model == services.generator.name:
        max_tokens = body.max_completion_tokens or body.max_tokens or services.answerer.settings.max_new_tokens
        messages = [{"role": m.role, "content": m.text()} for m in body.messages]

        def finish_reason(queued: QueuedGeneration) -> str:
            return "length" if queued.generation.new_tokens >= max_tokens else "stop"

        if not body.stream:
            queued = await services.queue.generate(messages, max_tokens)
            return completion.whole(queued.generation.text, finish_reason(queued), usage=_usage(queued))
        return await _stream(completion, lambda on_text: services.queue.generate(messages, max_tokens, on_text),
                             lambda queued: completion.chunk({}, finish_reason(queued), usage=_usage(queued)))

    question, history = _conversation(body.messages)
    if not body.stream:
        response = await services.answerer.ask(question, body.top_k, history=history, style=body.style)
        return completion.whole(response.answer, "stop", **_grounding(response))

    def done(response: AskResponse) -> bytes:
        # Clients join the pieces; with none (retrieval too weak: the model was not called) the answer is the content.
        delta = {} if completion.sent_text else {"role": "assistant", "content": response.answer}
        return completion.chunk(delta, "stop", **_grounding(response))

    return await _stream(completion, lambda on_text: services.answerer.ask(question, body.top_k, on_text,
                                                                           history=history, style=body.style), done)


def _conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The last user message (the question) and the user and assistant messages before it (its history).
    System, tool and empty messages are left out, and so is anything after the last user message."""
    last = max((n for n, m in enumerate(messages) if m.role == "user"), default=None)
    question = messages[last].text().strip() if last is not None else ""
    if not question or len(question) > MAX_QUESTION_CHARS:
        raise HTTPException(422, f"the last user message must hold a question of 1 to {MAX_QUESTION_CHARS} characters")
    history = [Turn(role=m.role, content=m.text()) for m in messages[:last]
               if m.role in ("user", "assistant") and m.text().strip()]
    return question, history


async def _stream(completion: _Completion, produce, done_chunk):
    head, task, pieces = await stream_pieces(produce)

    async def body() -> AsyncIterator[bytes]:
        async for event in events(head, task, pieces, token_event=completion.piece, done_event=done_chunk,
                                  error_event=lambda exc: _error_chunk(error_payload(exc))):
            yield event
        yield b"data: [DONE]\n\n"

    return event_stream(body())


def _error_chunk(payload: dict) -> bytes:
    error = {"message": payload["detail"], "type": "server_error", "code": payload["status"]}
    return b"data: " + json.dumps({"error": error}).encode() + b"\n\n"
