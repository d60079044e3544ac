"""The path from a question to a grounded answer, top to bottom: retrieve → prompt → generate → ground."""
from __future__ import annotations

import time

from anyio import to_thread

from app.answer_span import answer_span
from app.batching import GenerationQueue
from app.evidence import cited_chunks, select_sentences
from app.generation import Generator, TextSink, build_messages, passages_within
from app.grounding import (
    NOT_IN_DOCUMENTS,
    best_quote,
    citation,
    clean_answer,
    evidence_is_too_weak,
    model_abstained,
    quote_of,
)
from app.metrics import record_answer
from app.schemas import AskResponse
from app.settings import Settings
from index.retrieval import Retriever


class Answerer:
    """Answers questions from one index with one generator; shared by all requests of the service."""

    def __init__(self, retriever: Retriever, generator: Generator, settings: Settings) -> None:
        self.retriever = retriever
        self.generator = generator
        self.settings = settings
        # Requests wait for the model in a bounded queue, on the event loop (app/batching.py).
        self.queue = GenerationQueue(generator, settings.batch_max_size, settings.queue_size, settings.queue_timeout_s)

    async def ask(self, question: str, top_k: int, on_text: TextSink | None = None) -> AskResponse:
        """The answer; `on_text`, if given, receives the model's text in pieces as it is generated."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        hits = await to_thread.run_sync(self.retriever.search, question, top_k)
        if self.settings.evidence_sentences:
            passages = await to_thread.run_sync(select_sentences, question, hits, self.retriever.embedder,
                                                self.settings.evidence_sentences)
            cited = cited_chunks(passages, hits)
        else:
            passages = cited = passages_within(hits, self.settings.max_context_chars)
        timings["retrieval"] = _ms_since(started)
        if evidence_is_too_weak(question, passages, self.settings.abstain_threshold, self.settings.abstain_coverage_weight):
            # Nothing says anything close enough: answer that plainly, without spending time on the model.
            timings["total"] = _ms_since(started)
            record_answer(abstained=True)
            return AskResponse(answer=NOT_IN_DOCUMENTS, abstained=True, citations=[],
                               model=self.generator.name, timings_ms=timings)
        citations = [citation(h) for h in cited]  # the chunks whose text the model was given
        messages = build_messages(question, passages)
        queued = await self.queue.generate(messages, self.settings.max_new_tokens, on_text)
        timings["queue"], timings["generation"] = queued.queue_ms, queued.generation_ms
        answer = clean_answer(queued.generation.text)
        said_unknown = model_abstained(answer)
        answer, span = answer_span(answer, question, passages)
        timings["total"] = _ms_since(started)
        abstained = said_unknown or (span is None and self.settings.require_supported_answer)
        record_answer(abstained)
        if abstained:  # the model said it cannot tell, or said something the evidence does not say
            return AskResponse(answer=NOT_IN_DOCUMENTS, abstained=True, citations=citations,
                               model=self.generator.name, timings_ms=timings)
        quote = quote_of(span, passages) if span else best_quote(answer, question, passages)
        return AskResponse(answer=answer, abstained=False, quote=quote, citations=citations,
                           model=self.generator.name, timings_ms=timings)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
