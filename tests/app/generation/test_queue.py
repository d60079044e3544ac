"""The generation queue with the real small model: requests that wait together form one batch, fairly and bounded."""
from __future__ import annotations

import asyncio
import threading

import pytest

from app.generation.queue import GenerationQueue, OverloadedError
from tests.app.generation.conftest import FACTS, messages_for

pytestmark = pytest.mark.slow

class GatedGenerator:
    """The real generator, whose batches wait until the test opens the gate: the test, not the model's
    speed, decides what is running and what is waiting when it looks."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.gate = inner, inner.name, threading.Event()

    def generate_batch(self, requests):
        assert self.gate.wait(60), "the test never opened the gate"
        return self.inner.generate_batch(requests)


def _queue(generator, **kwargs) -> GenerationQueue:
    options = {"batch_max_size": 8, "queue_size": 8, "queue_timeout_s": 60.0} | kwargs
    return GenerationQueue(generator, **options)


def test_requests_that_wait_together_are_generated_as_one_batch_in_arrival_order(generator):
    gated = GatedGenerator(generator)
    queue = _queue(gated, batch_max_size=2)

    async def scenario():
        first = asyncio.create_task(queue.generate(messages_for(*FACTS[0]), 4))
        await asyncio.sleep(0.05)  # the first batch (of one) is running now, held at the gate
        waiting = [asyncio.create_task(queue.generate(messages_for(q, p), 4)) for q, p in [FACTS[1], FACTS[2], FACTS[0]]]
        await asyncio.sleep(0.05)
        assert queue.depth == 3 and queue.running == 1
        gated.gate.set()
        return await first, await asyncio.gather(*waiting)

    first, rest = asyncio.run(scenario())
    assert first.batch_size == 1
    assert [r.batch_size for r in rest] == [2, 2, 1]  # oldest first, at most batch_max_size together
    assert rest[0].queue_ms < rest[2].queue_ms
    assert rest[2].generation.text == first.generation.text  # the same prompt alone and in a later batch
    assert queue.depth == 0


def test_a_full_queue_refuses_at_once_and_a_long_wait_gives_up_with_retry_after(generator):
    gated = GatedGenerator(generator)
    queue = _queue(gated, batch_max_size=1, queue_size=1, queue_timeout_s=0.2)

    async def scenario():
        running = asyncio.create_task(queue.generate(messages_for(*FACTS[0]), 12))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(queue.generate(messages_for(*FACTS[1]), 4))
        await asyncio.sleep(0.01)
        with pytest.raises(OverloadedError, match="already waiting") as full:
            await queue.generate(messages_for(*FACTS[2]), 4)
        with pytest.raises(OverloadedError, match="waited") as timed_out:
            await waiting
        assert queue.depth == 0, "a request that gave up leaves the queue"
        gated.gate.set()
        await running
        later = await queue.generate(messages_for(*FACTS[2]), 4)  # the queue still serves after refusing
        return full.value, timed_out.value, later

    full, timed_out, later = asyncio.run(scenario())
    assert full.retry_after >= 1 and timed_out.retry_after >= 1
    assert later.generation.new_tokens > 0
