"""Streaming answers as Server-Sent Events: `token` pieces while the model writes, then `done` with the full answer.

Errors found before the first event (422, 503 overloaded or not ready) stay ordinary JSON
responses: the stream only opens once the model has produced its first piece (or the answer is
already complete, as when retrieval is too weak and the model is not called). A failure after
that is sent as an `error` event.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.generation.base import TextSink
from app.generation.queue import OverloadedError
from app.generation.remote import GeneratorUnavailableError

log = logging.getLogger(__name__)

_NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Sent after the last piece, so "done" needs no sentinel in the piece queue.
_FINISHED = object()


def sse(event: str, data: object) -> bytes:
    """One Server-Sent Event with a JSON payload."""
    payload = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data, ensure_ascii=False)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def error_payload(exc: BaseException) -> dict:
    if isinstance(exc, (OverloadedError, GeneratorUnavailableError)):
        return {"status": 503, "detail": str(exc)}
    log.error("failed while streaming", exc_info=exc)
    return {"status": 500, "detail": "internal error; the server log has the details"}


async def stream_pieces(produce: Callable[[TextSink], Awaitable[object]]) -> tuple[list, asyncio.Task, asyncio.Queue]:
    """Start `produce(on_text)` and wait for its first piece or its end; raises what it raised before that."""
    pieces: asyncio.Queue = asyncio.Queue()
    task = asyncio.ensure_future(produce(pieces.put_nowait))
    task.add_done_callback(lambda _: pieces.put_nowait(_FINISHED))
    first = await pieces.get()  # a piece, or _FINISHED
    if first is _FINISHED:
        task.result()  # an error before any piece: raise it for the ordinary JSON error handlers
    return [first], task, pieces


async def events(head: list, task: asyncio.Task, pieces: asyncio.Queue,
                 token_event: Callable[[str], bytes], done_event: Callable[[object], bytes],
                 error_event: Callable[[BaseException], bytes]) -> AsyncIterator[bytes]:
    """The stream's bytes: one event per piece, then the final one; cancels the producer if the client leaves."""
    try:
        item = head[0]
        while item is not _FINISHED:
            yield token_event(item)
            item = await pieces.get()
        if task.exception() is not None:
            yield error_event(task.exception())
        else:
            yield done_event(task.result())
    finally:
        if not task.done():
            task.cancel()


async def stream_answer(produce: Callable[[TextSink], Awaitable[BaseModel]]) -> StreamingResponse:
    """`POST /ask` with `"stream": true`: `token` events, then `done` with the same object as without streaming."""
    head, task, pieces = await stream_pieces(produce)
    body = events(head, task, pieces,
                  token_event=lambda text: sse("token", {"text": text}),
                  done_event=lambda response: sse("done", response),
                  error_event=lambda exc: sse("error", error_payload(exc)))
    return event_stream(body)


def event_stream(body: AsyncIterator[bytes]) -> StreamingResponse:
    # no-cache and no proxy buffering: each event should reach the client when it is sent
    return StreamingResponse(body, media_type="text/event-stream", headers=_NO_BUFFERING)
