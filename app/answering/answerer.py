"""The path from a question to a grounded answer, top to bottom: (follow-up → standalone question) → shape →
retrieve → prompt → generate → ground.

A short answer is the model's phrase found in the evidence; an explanation is composed of the
evidence sentences closest to the question. Either way the answer is a list of sentences, each
verified against its verbatim support before it is shown (app/answering/support.py).
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from anyio import to_thread

from app.answering.abstention import NOT_IN_DOCUMENTS, evidence_is_too_weak, model_abstained
from app.answering.answer_span import Span, answer_span, clean_answer, only_repeats
from app.answering.citations import best_quote, citation, quote_of
from app.answering.entry_choice import lists_entries
from app.answering.enumeration import names_several
from app.answering.evidence import cited_chunks, select_sentences, sentence_embedder
from app.answering.explanation import as_read, explanation_evidence, in_reading_order
from app.answering.followup import (
    REFERENT_TOKENS,
    asked_again,
    check_history,
    conversation_text,
    named_in,
    named_thing,
    one_of_its_kind,
    recent_turns,
    reference_in,
    referent_in,
    referent_messages,
    standalone,
    which_of_them,
)
from app.answering.named_entry import asked_names, named_entry_chunks, named_entry_sentences
from app.answering.posed import Posed, posed_question
from app.answering.prompt import build_messages, passages_within
from app.answering.reasons import asks_for_reason, gives_reason
from app.answering.referents import choose
from app.answering.sentences import joined, sentence, support_of, verified, with_markers
from app.answering.shape import Style, asks_for_several, offers_a_choice, question_shape
from app.answering.table_cells import Cell, asked_cell
from app.answering.tables import table_after
from app.generation.base import Generator, TextSink
from app.generation.queue import GenerationQueue
from app.schemas import AskResponse, Citation, Quote, Turn
from core.counters import record_answer, record_unsupported
from core.priority import at_low_priority
from core.settings import Settings
from index.embedder import Embedder
from index.retrieval import Retriever
from index.types import Hit


class Answerer:
    """Answers questions from one index with one generator; shared by all requests of the service."""

    def __init__(self, retriever: Retriever, generator: Generator, settings: Settings, *,
                 queue: GenerationQueue | None = None, sentence_ranker: Embedder | None = None) -> None:
        self.retriever = retriever
        self.generator = generator
        self.settings = settings
        self.sentence_embedder = sentence_ranker or sentence_embedder(settings, retriever.embedder)
        # Requests wait for the model in a bounded queue, on the event loop (app/generation/queue.py).
        self.queue = queue or GenerationQueue(generator, settings.effective_batch_max_size, settings.queue_size,
                                              settings.queue_timeout_s, settings.worker_nice)

    def over(self, retriever: Retriever) -> "Answerer":
        """The same answerer (generator, queue, sentence ranker) over another index snapshot's retriever."""
        return Answerer(retriever, self.generator, self.settings, queue=self.queue, sentence_ranker=self.sentence_embedder)

    def evidence(self, question: str, top_k: int) -> tuple[list[Hit], list[Hit]]:
        """What the model is given (evidence sentences, or whole passages) and the chunks it came from.
        The sentences are ranked by `RAGQA_EVIDENCE_EMBEDDING_BACKEND` (int8 by default: 3x faster); with the
        index's own embedder the question is embedded once for both."""
        question_vector = self.retriever.embedder.embed_queries([question])[0]
        hits = self.retriever.search_by_vector(question, question_vector, top_k)
        if not self.settings.evidence_sentences:
            passages = passages_within(hits, self.settings.max_context_chars)
            return passages, passages
        same = self.sentence_embedder is self.retriever.embedder  # else it embeds the question in its own space
        count = self.settings.evidence_sentences
        named = asked_names(question)  # the entry a question names (named_entry.py): its sentences first
        hits = self.with_named_entries(question, question_vector, hits) if named else hits
        passages = select_sentences(question, hits, self.sentence_embedder, len(hits) * 64 if named else count,
                                    question_vector if same else None, self.retriever.rare_word_weights(question))
        if named:
            first = named_entry_sentences(question, passages, self.retriever.index.store.document_text)
            passages = [*first, *(s for s in passages if s not in first)][:count]
        return passages, cited_chunks(passages, hits)

    def with_named_entries(self, question: str, question_vector: np.ndarray, hits: list[Hit]) -> list[Hit]:
        """`hits` and the chunks of the descriptions of the entries the question names that they do not hold, each as
        close to the question as its own vector is (named_entry.py)."""
        store = self.retriever.index.store
        more = named_entry_chunks(question, hits, store.document_text, store.chunk_holding)
        return [*hits, *self.retriever.hits_of(more, question_vector)] if more else hits

    def explanation_sentences(self, question: str, top_k: int) -> tuple[list[Hit], list[Hit], Posed | None]:
        """The evidence sentences of an explanation, best first, the chunks searched for them, and the documents' own
        question that this one restates, if any (posed.py). As in `evidence`, the question is embedded as a query
        (nomic's `search_query: ` prefix), for the search and, with the index's own embedder, for ranking sentences."""
        question_vector = self.retriever.embedder.embed_queries([question])[0]
        hits = self.with_named_entries(question, question_vector, self.retriever.search_by_vector(
            question, question_vector, max(top_k, self.settings.explain_top_k)))
        # The question in the sentence ranker's space, once for the posed question and the sentences.
        ranker_vector = (question_vector if self.sentence_embedder is self.retriever.embedder
                         else self.sentence_embedder.embed_queries([question])[0])
        store = self.retriever.index.store
        posed = posed_question(question, hits, self.sentence_embedder, ranker_vector)
        sentences = explanation_evidence(question, hits, self.sentence_embedder, self.settings.explain_sentences,
                                         self.settings.explain_min_similarity, ranker_vector,
                                         store.document_text, store.chunk_holding,
                                         self.retriever.rare_word_weights(question),
                                         lambda side: self.retriever.search(side, self.settings.explain_top_k), posed)
        # An entry of a reference listed from its document, or a comparison's side found by its own search, may lie
        # in a chunk the question's search did not return: cited too, as close to the question as the chunk's own
        # vector is (the search gave it no score of its own).
        searched = {hit.chunk_id for hit in hits}
        unsearched = list(dict.fromkeys(s.chunk_id for s in sentences if s.chunk_id not in searched))
        return sentences, [*hits, *self.retriever.hits_of(unsearched, question_vector)], posed

    async def standalone_question(self, question: str, history: Sequence[Turn]) -> tuple[str, float | None]:
        """The question as it reads without the conversation, and the milliseconds the rewrite took (None: the
        question names its own subject and is used as written, at no cost; app/answering/followup.py).

        A follow-up's referent is chosen by retrieval (app/answering/referents.py: no model call), or with
        `RAGQA_FOLLOWUP_REWRITE=model` named by the model."""
        if not history:
            return question, None
        started = time.perf_counter()
        # "And str.rsplit?": the last question, of another name; "Which one writes to a file?" after one naming two.
        # "How do I make one?" after "What is a daemon thread?": one of the term it asked about.
        again = asked_again(question, history) or which_of_them(question, history) or one_of_its_kind(question, history)
        reference = reference_in(question) if again is None else None
        if again is None and reference is None:
            return question, None
        # "What is its default?" after a question naming RAGQA_MAX_NEW_TOKENS: that name.
        again = again or named_thing(question, reference, history)
        if again is not None:
            return again, _ms_since(started)
        turns = recent_turns(history, self.settings.history_prompt_chars)  # the oldest turns are dropped first
        if self.settings.followup_rewrite == "retrieval":
            choice = await to_thread.run_sync(at_low_priority, self.settings.worker_nice, choose, question,
                                              reference, turns, self.retriever)
            return choice.question, _ms_since(started)
        conversation = conversation_text(turns, self.settings.history_prompt_chars)
        queued = await self.queue.generate(referent_messages(question, reference, conversation), REFERENT_TOKENS)
        reply = clean_answer(queued.generation.text)
        referent = referent_in(reply, conversation)
        if referent is None and not model_abstained(reply):
            referent = named_in(turns)  # the model named nothing of the conversation: its last question's name
        rewritten = standalone(question, reference, referent) if referent else question
        return rewritten, _ms_since(started)

    async def ask(self, question: str, top_k: int, on_text: TextSink | None = None,
                  history: Sequence[Turn] = (), style: Style = "auto") -> AskResponse:
        """The answer in the shape `style` asks for; `on_text`, if given, receives its text in pieces as it is written
        (the model's text for a short answer, a sentence at a time for an explanation). With `history` (the
        conversation so far, oldest first), a follow-up is first rewritten to stand alone."""
        check_history(history, self.settings.history_max_turns, self.settings.history_max_chars)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        question, rewrite_ms = await self.standalone_question(question, history)
        if rewrite_ms is not None:
            timings["rewrite"] = rewrite_ms
        if question_shape(question, style) == "explain":
            return await self.explain(question, top_k, on_text, timings, started)
        searched = time.perf_counter()
        passages, cited = await to_thread.run_sync(at_low_priority, self.settings.worker_nice, self.evidence,
                                                   question, top_k)
        timings["retrieval"] = _ms_since(searched)
        if evidence_is_too_weak(question, passages, self.settings.abstain_threshold, self.settings.abstain_coverage_weight):
            # Nothing says anything close enough: answer that plainly, without spending time on the model.
            timings["total"] = _ms_since(started)
            record_answer(abstained=True)
            return AskResponse(answer=NOT_IN_DOCUMENTS, abstained=True, citations=[], standalone_question=question,
                               model=self.generator.name, timings_ms=timings)
        cell = asked_cell(question, passages, self.retriever.index.store.document_text)
        if cell is not None:  # "What is the default of RAGQA_MAX_CONTEXT_CHARS?": a table's cell, without the model
            return self.from_a_cell(question, cell, cited, on_text, timings, started)
        several = asks_for_several(question)
        # A question for several things may yet get an explanation (below): its model text is not streamed.
        may_explain = several and style == "auto"
        if may_explain and lists_entries(question, passages, self.retriever.index.store.document_text):
            # "Which functions does glob provide?" over a reference that lists them: its entries, without the model.
            explained, _ = await self.explanation(question, top_k, timings)
            if explained is not None:
                return self.explained(explained, on_text, timings, started)
        citations = [citation(h) for h in cited]  # the chunks whose text the model was given
        messages = build_messages(question, passages)
        queued = await self.queue.generate(messages, self.settings.max_new_tokens, None if may_explain else on_text)
        timings["queue"], timings["generation"] = queued.queue_ms, queued.generation_ms
        answer = clean_answer(queued.generation.text)
        said_unknown = model_abstained(answer)
        answer, span = answer_span(answer, question, passages, several=several)
        abstained = said_unknown or (span is None and self.settings.require_supported_answer)
        if style == "auto" and not abstained and only_repeats(answer, question) and not offers_a_choice(question):
            # The model gave the question's own words back ("RAGQA_CACHE_DIR" for "Which component uses
            # RAGQA_CACHE_DIR?"): they tell nothing; the sentences that speak of them may.
            explained, _ = await self.explanation(question, top_k, timings)
            if explained is not None:
                return self.explained(explained, on_text, timings, started)
        if may_explain and not said_unknown and (abstained or not names_several(answer)
                                                 or self.quoted_before_a_table(span, passages)):
            # It asks for several things and the short answer names one, or names what its evidence does not say (a
            # list held in a table, its items apart in the rows), or comes from the sentence that leads into a table
            # ("… presentation types for float and Decimal values are:"): the sentences that say them all, if any.
            explained, _ = await self.explanation(question, top_k, timings)
            if explained is not None:
                return self.explained(explained, on_text, timings, started)
        if may_explain and on_text and not abstained:
            on_text(answer)
        timings["total"] = _ms_since(started)
        record_answer(abstained)
        if abstained:  # the model said it cannot tell, or said something the evidence does not say
            return AskResponse(answer=NOT_IN_DOCUMENTS, abstained=True, citations=citations,
                               standalone_question=question, model=self.generator.name, timings_ms=timings)
        quote = quote_of(span, passages) if span else best_quote(answer, question, passages)
        sentences = [sentence(answer, [support_of(quote)] if quote else [], citations)]
        return AskResponse(answer=answer, abstained=False, sentences=sentences, quote=quote, citations=citations,
                           standalone_question=question, model=self.generator.name, timings_ms=timings)

    def from_a_cell(self, question: str, cell: Cell, cited: Sequence[Hit], on_text: TextSink | None,
                    timings: dict[str, float], started: float) -> AskResponse:
        """A short answer that is a table's cell, its row the quote (table_cells.py)."""
        if on_text:
            on_text(cell.text.text)
        citations = [citation(h) for h in cited]
        row = cell.row
        quote = Quote(text=row.text, source=row.source, chunk_id=str(row.chunk_id), start=row.start, end=row.end)
        timings["total"] = _ms_since(started)
        record_answer(abstained=False)
        return AskResponse(answer=cell.text.text, abstained=False, quote=quote, citations=citations,
                           sentences=[sentence(cell.text.text, [support_of(row)], citations)],
                           standalone_question=question, model=self.generator.name, timings_ms=timings)

    def quoted_before_a_table(self, span: Span | None, passages: Sequence[Hit]) -> bool:
        """Whether a short answer is a phrase of an evidence sentence that a table follows in its document: the list
        the question asks for is that table's, not the phrase."""
        if span is None:
            return False
        sentence = passages[span.passage]
        document = self.retriever.index.store.document_text(sentence.source)
        return document is not None and table_after(document, sentence.end) is not None

    async def explain(self, question: str, top_k: int, on_text: TextSink | None, timings: dict[str, float],
                      started: float) -> AskResponse:
        """1-4 sentences of the documents that answer the (standalone) question, each verified against its support."""
        explained, citations = await self.explanation(question, top_k, timings)
        if explained is None:
            return self._abstain(question, citations, timings, started)
        return self.explained(explained, on_text, timings, started)

    async def explanation(self, question: str, top_k: int,
                          timings: dict[str, float]) -> tuple[AskResponse | None, list[Citation]]:
        """The explanation (its `timings` not yet complete) and its citations; None for the explanation when nothing
        close enough and supported remains (with the citations searched, when every sentence was removed)."""
        searched = time.perf_counter()
        evidence, hits, posed = await to_thread.run_sync(at_low_priority, self.settings.worker_nice,
                                                         self.explanation_sentences, question, top_k)
        timings["retrieval"] = timings.get("retrieval", 0.0) + _ms_since(searched)
        # The documents asking this very question (posed.py) is evidence as close as any: its answer need not repeat it.
        weighed = [*evidence, posed.question] if posed is not None else evidence
        if evidence_is_too_weak(question, weighed, self.settings.abstain_threshold, self.settings.abstain_coverage_weight):
            return None, []
        if asks_for_reason(question) and posed is None and not gives_reason(question, [s.text for s in evidence],
                                                                            self.settings.reason_min_coverage):
            return None, []  # on the subject, but no reason (reasons.py); the documents' own answer to it is one
        chosen = in_reading_order(evidence)
        citations = [citation(h) for h in cited_chunks(chosen, hits)]
        sentences, removed = verified([sentence(as_read(s.text), [support_of(s)], citations) for s in chosen])
        record_unsupported(removed)
        if not sentences:  # nothing the documents carry is left
            return None, citations
        first = sentences[0].support[0]
        quote = Quote(text=first.text, source=first.source, chunk_id=first.chunk_id, start=first.start, end=first.end)
        return AskResponse(answer=joined(sentences), abstained=False, shape="explain", sentences=sentences, quote=quote,
                           citations=citations, standalone_question=question, model=self.generator.name,
                           timings_ms=timings), citations

    def explained(self, response: AskResponse, on_text: TextSink | None, timings: dict[str, float],
                  started: float) -> AskResponse:
        """An explanation given: its sentences streamed, its time and answer counted."""
        for n, s in enumerate(response.sentences):
            if on_text:
                on_text(("" if n == 0 else " ") + with_markers(s))
        response.timings_ms = {**timings, "total": _ms_since(started)}
        record_answer(abstained=False)
        return response

    def _abstain(self, question: str, citations: list[Citation], timings: dict[str, float],
                 started: float) -> AskResponse:
        """An explanation's abstention: nothing the documents say is close enough, or carries a sentence."""
        timings["total"] = _ms_since(started)
        record_answer(abstained=True)
        return AskResponse(answer=NOT_IN_DOCUMENTS, abstained=True, shape="explain", citations=citations,
                           standalone_question=question, model=self.generator.name, timings_ms=timings)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
