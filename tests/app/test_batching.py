"""Dynamic batching with the real small model: batches equal one-by-one answers, and the queue is fair and bounded.

Exact equality is a float32 property: with int8 weights (the default) each token's activations are
rounded to 8 bits, which turns the last-bit differences of a padded batch into different roundings,
so there a batch's answers are compared for what a user sees: each row answers its own question.
"""
from __future__ import annotations

import asyncio
import threading

import pytest

from app.batching import GenerationQueue, OverloadedError
from app.generation import GenerationRequest, build_messages
from index.types import Hit

pytestmark = pytest.mark.slow

FACTS = [
    ("How tall is the Varnholm lighthouse?", "The Varnholm lighthouse stands 41 metres tall on the northern cliff."),
    ("Who founded the chess club?", "The Riverside chess club meets every Thursday evening in the old library. "
                                    "Its founder, Marta Kowalski, won the regional championship in 1998."),
    ("When is the bread baked?", "The dough rests for twelve hours before it is baked at 240 degrees Celsius."),
]


def _messages(question: str, passage: str) -> list[dict[str, str]]:
    return build_messages(question, [Hit(chunk_id=1, source="a.txt", text=passage, start=0, end=len(passage),
                                         score=1.0, similarity=0.6)])


@pytest.fixture(scope="module")
def float_generator(settings):
    from app.generation import TransformersGenerator
    from app.model_files import model_directory

    return TransformersGenerator(model_directory("smollm2-135m", settings.cache_dir), "smollm2-135m")


def test_a_left_padded_batch_answers_exactly_as_one_by_one(float_generator):
    generator = float_generator
    requests = [GenerationRequest(_messages(q, p), 16) for q, p in FACTS]  # prompts of different lengths
    alone = [generator.generate(r.messages, r.max_new_tokens) for r in requests]
    together = generator.generate_batch(requests)
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.new_tokens for g in together] == [g.new_tokens for g in alone]
    assert len({g.prompt_tokens for g in together}) > 1, "the prompts should need padding"


def test_with_int8_weights_each_row_of_a_padded_batch_answers_its_own_question(generator):
    assert generator.precision == "int8"
    requests = [GenerationRequest(_messages(q, p), 16) for q, p in FACTS]
    texts = [g.text for g in generator.generate_batch(requests)]
    assert "41" in texts[0] and "Kowalski" in texts[1] and "240" in texts[2]


def test_each_row_streams_its_own_text_and_stops_at_its_own_budget(generator):
    pieces: list[list[str]] = [[], [], []]
    budgets = [3, 16, 16]
    requests = [GenerationRequest(_messages(q, p), budget, pieces[row].append)
                for row, ((q, p), budget) in enumerate(zip(FACTS, budgets))]
    generations = generator.generate_batch(requests)
    assert generations[0].new_tokens == 3 and generations[1].new_tokens > 3
    for row, generation in enumerate(generations):
        assert len(pieces[row]) > 1, "text arrives in pieces"
        assert "".join(pieces[row]).strip() == generation.text
    assert "41" in generations[0].text + generations[1].text + generations[2].text or "Kowalski" in generations[1].text


def test_reusing_the_shared_prompt_prefix_changes_no_answer(float_generator, settings):
    from app.generation import TransformersGenerator
    from app.model_files import model_directory

    generator = float_generator
    without = TransformersGenerator(model_directory("smollm2-135m", settings.cache_dir), "smollm2-135m", reuse_prefix=False)
    requests = [GenerationRequest(_messages(q, p), 12) for q, p in FACTS]
    with_prefix = [generator.generate(r.messages, r.max_new_tokens).text for r in requests]
    assert generator._prefix.ids, "the system prompt and worked examples are cached"
    assert len(generator._prefix.ids) > 100
    assert with_prefix == [without.generate(r.messages, r.max_new_tokens).text for r in requests]
    assert [g.text for g in generator.generate_batch(requests)] == with_prefix


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
        first = asyncio.create_task(queue.generate(_messages(*FACTS[0]), 4))
        await asyncio.sleep(0.05)  # the first batch (of one) is running now, held at the gate
        waiting = [asyncio.create_task(queue.generate(_messages(q, p), 4)) for q, p in [FACTS[1], FACTS[2], FACTS[0]]]
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
        running = asyncio.create_task(queue.generate(_messages(*FACTS[0]), 12))
        await asyncio.sleep(0.05)
        waiting = asyncio.create_task(queue.generate(_messages(*FACTS[1]), 4))
        await asyncio.sleep(0.01)
        with pytest.raises(OverloadedError, match="already waiting") as full:
            await queue.generate(_messages(*FACTS[2]), 4)
        with pytest.raises(OverloadedError, match="waited") as timed_out:
            await waiting
        assert queue.depth == 0, "a request that gave up leaves the queue"
        gated.gate.set()
        await running
        later = await queue.generate(_messages(*FACTS[2]), 4)  # the queue still serves after refusing
        return full.value, timed_out.value, later

    full, timed_out, later = asyncio.run(scenario())
    assert full.retry_after >= 1 and timed_out.retry_after >= 1
    assert later.generation.new_tokens > 0
