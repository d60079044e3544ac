"""Citations: retrieved chunks as citations, and the verbatim quote (a sentence of a passage) that holds the answer."""
from __future__ import annotations

from collections.abc import Sequence

from app.answering.answer_span import Span
from app.schemas import Citation, Quote
from core.text import sentence_spans, word_set
from index.types import Hit


def citation(hit: Hit) -> Citation:
    return Citation(source=hit.source, chunk_id=str(hit.chunk_id), text=hit.text, score=hit.score,
                    similarity=hit.similarity, start=hit.start, end=hit.end, page=hit.metadata.get("page"))


def quote_of(span: Span, passages: Sequence[Hit]) -> Quote:
    """The sentence of the passage that holds the answer's span, as a verbatim quote."""
    hit = passages[span.passage]
    start, end = next(((a, b) for a, b in sentence_spans(hit.text, join_wrapped_lines=True) if a <= span.start < b),
                      (0, len(hit.text)))
    end = max(end, span.end)  # an answer running past a sentence break keeps the quote whole
    return Quote(text=hit.text[start:end], source=hit.source, chunk_id=str(hit.chunk_id),
                 start=hit.start + start, end=hit.start + end)


def best_quote(answer: str, question: str, passages: Sequence[Hit]) -> Quote | None:
    """The cited sentence sharing the most words with the answer (then with the question).

    Verbatim by construction: the quote is a slice of a passage, and a passage is a slice of
    its document, so `document[quote.start:quote.end] == quote.text`.
    """
    answer_words, question_words = word_set(answer), word_set(question)
    best, best_key = None, None
    for rank, hit in enumerate(passages):
        for start, end in sentence_spans(hit.text, join_wrapped_lines=True):
            words = word_set(hit.text[start:end])
            # Words of the answer that the question did not already say carry the evidence.
            key = (len(words & (answer_words - question_words)), len(words & answer_words),
                   len(words & question_words), -rank)
            if best_key is None or key > best_key:
                best_key = key
                best = Quote(text=hit.text[start:end], source=hit.source, chunk_id=str(hit.chunk_id),
                             start=hit.start + start, end=hit.start + end)
    return best
