"""The generation queue: bounded, first in first out, and batching the requests that wait together into one generate call.

While the model generates, new requests wait here on the event loop (holding no thread, so
/search and /healthz are never behind them). When the model is free, the worker takes up to
`batch_max_size` of the oldest waiting requests and generates them as one batch on its own
thread. A request that finds `queue_size` requests already waiting, or that waits longer than
`queue_timeout_s` for its batch to start, fails at once with `OverloadedError` (HTTP 503 with
Retry-After) instead of hanging.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.generation.base import Generation, GenerationRequest, Generator, TextSink
from core.counters import record_tokens
from core.priority import lower_this_thread


class OverloadedError(Exception):
    """The generation queue cannot serve this request in time; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class QueuedGeneration:
    """A generation and how long its request waited and generated (milliseconds)."""

    generation: Generation
    queue_ms: float
    generation_ms: float
    batch_size: int


@dataclass(eq=False)
class _Waiting:
    request: GenerationRequest
    started: asyncio.Future  # set (to the monotonic start time) when its batch begins
    done: asyncio.Future  # set to the QueuedGeneration
    enqueued: float = field(default_factory=time.perf_counter)


class GenerationQueue:
    """Serves one generator to all requests of the service; see the module docstring."""

    def __init__(self, generator: Generator, batch_max_size: int, queue_size: int, queue_timeout_s: float,
                 worker_nice: int = 0) -> None:
        self.generator = generator
        self.batch_max_size = batch_max_size
        self.queue_size = queue_size
        self.queue_timeout_s = queue_timeout_s
        self.running = 0  # requests in the batch being generated now
        self.last_batch_seconds = 0.0
        self._waiting: deque[_Waiting] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        # One thread for the model: generation never takes a thread from the pool /search uses.
        # The model's thread runs below the event loop's priority (app/priority.py).
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragqa-generate",
                                            initializer=lower_this_thread, initargs=(worker_nice,))

    @property
    def depth(self) -> int:
        """Requests waiting for the model (not counting the batch being generated)."""
        return len(self._waiting)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained by one batch (at least 1)."""
        batches_ahead = 1 + len(self._waiting) // self.batch_max_size
        return max(1, math.ceil(self.last_batch_seconds * batches_ahead))

    async def generate(self, messages: list[dict[str, str]], max_new_tokens: int,
                       on_text: TextSink | None = None) -> QueuedGeneration:
        """Wait for the model (bounded), then generate; `on_text` gets pieces on the event loop."""
        loop = self._ensure_worker()
        if len(self._waiting) >= self.queue_size:
            raise OverloadedError(f"overloaded: {len(self._waiting)} questions are already waiting for the model",
                                  self.retry_after())
        if on_text is not None:
            sink = on_text
            on_text = lambda piece: loop.call_soon_threadsafe(sink, piece)  # noqa: E731 (from the model's thread)
        waiting = _Waiting(GenerationRequest(messages, max_new_tokens, on_text), loop.create_future(), loop.create_future())
        self._waiting.append(waiting)
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(waiting.started), self.queue_timeout_s)
        except TimeoutError:
            if waiting in self._waiting:
                self._waiting.remove(waiting)
                raise OverloadedError(f"overloaded: waited {self.queue_timeout_s:g} s for the model",
                                      self.retry_after()) from None
        except asyncio.CancelledError:  # the client went away while waiting: free its place
            if waiting in self._waiting:
                self._waiting.remove(waiting)
            raise
        return await waiting.done

    def _ensure_worker(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._worker is None or self._worker.done():
            # First use, or a new event loop (a test or benchmark may run several in turn).
            self._loop, self._wakeup = loop, asyncio.Event()
            self._waiting.clear()
            self._worker = loop.create_task(self._serve(), name="ragqa-generation-queue")
        return loop

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._waiting:
                self._wakeup.clear()
                await self._wakeup.wait()
            batch = [self._waiting.popleft() for _ in range(min(self.batch_max_size, len(self._waiting)))]
            started = time.perf_counter()
            for waiting in batch:
                waiting.started.set_result(started)
            self.running = len(batch)
            try:
                generations = await loop.run_in_executor(self._executor, self.generator.generate_batch,
                                                         [w.request for w in batch])
            except Exception as exc:  # every request of the batch gets the error; the queue goes on
                for waiting in batch:
                    if not waiting.done.done():
                        waiting.done.set_exception(exc)
                continue
            finally:
                self.running = 0
                self.last_batch_seconds = time.perf_counter() - started
            generation_ms = round(self.last_batch_seconds * 1000, 1)
            record_tokens(sum(g.new_tokens for g in generations))
            for waiting, generation in zip(batch, generations):
                if not waiting.done.done():
                    waiting.done.set_result(QueuedGeneration(generation, round((started - waiting.enqueued) * 1000, 1),
                                                             generation_ms, len(batch)))
