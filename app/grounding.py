"""Grounding: when to abstain, and how retrieved chunks become citations."""
from __future__ import annotations

import re
from collections.abc import Sequence

from app.answer_span import Span
from app.schemas import Citation, Quote
from index.store import STOPWORDS
from index.types import Hit
from ingest.chunking import sentence_spans

NOT_IN_DOCUMENTS = "The documents do not contain an answer to this question."

# What instruction-tuned models say when told to admit the passages lack the answer.
_MODEL_ABSTAINS = re.compile(r"^\W*(i (do not|don't) know|the passages do not|not in the (passages|documents))",
                             re.IGNORECASE)


# A stretch of 4–400 characters said three or more times in a row: a small greedy model stuck in a loop.
_LOOP = re.compile(r"(.{4,400}?)(?:\s*\1){2,}", re.DOTALL)


def trim_repetition(answer: str) -> str:
    """Cut an answer where it starts repeating itself, keeping the first occurrence."""
    match = _LOOP.search(answer)
    if match:
        answer = answer[:match.start() + len(match.group(1))]
    if answer.count("```") % 2:  # don't leave a code block open after the cut
        answer = answer[:answer.rfind("```")]
    return answer.strip()


_PASSAGE_MARK = re.compile(r"\s*\[\d+\]")


def clean_answer(text: str) -> str:
    """The answer phrase: loops cut, passage marks like [1] and wrapping quotes or a final period removed."""
    answer = _PASSAGE_MARK.sub("", trim_repetition(text)).strip()
    if answer.endswith(".") and answer.count(".") == 1:  # a sentence's period, not "e.g." or "3.5"
        answer = answer[:-1]
    if len(answer) > 1 and answer[0] == answer[-1] and answer[0] in "\"'`":
        answer = answer[1:-1].strip()
    return answer


def question_coverage(question: str, evidence: Sequence[Hit]) -> float:
    """The fraction of the question's content words (not stopwords) that the evidence contains."""
    asked = {w for w in _words(question) if w not in STOPWORDS}
    if not asked:
        return 1.0
    said = set().union(*(_words(e.text) for e in evidence)) if evidence else set()
    return len(asked & said) / len(asked)


def support(question: str, evidence: Sequence[Hit], coverage_weight: float) -> float:
    """How well the evidence bears on the question: its best cosine similarity to the question,
    plus `coverage_weight` times the share of the question's content words it contains (a passage
    on a similar topic rarely names the very things asked about)."""
    if not evidence:
        return 0.0
    return max(e.similarity for e in evidence) + coverage_weight * question_coverage(question, evidence)


def evidence_is_too_weak(question: str, evidence: Sequence[Hit], threshold: float, coverage_weight: float) -> bool:
    """The evidence is too far from the question to hold its answer."""
    return support(question, evidence, coverage_weight) < threshold


def model_abstained(answer: str) -> bool:
    return not answer.strip() or bool(_MODEL_ABSTAINS.match(answer))


def citation(hit: Hit) -> Citation:
    return Citation(source=hit.source, chunk_id=str(hit.chunk_id), text=hit.text, score=hit.score,
                    similarity=hit.similarity, start=hit.start, end=hit.end, page=hit.metadata.get("page"))


_WORDS = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(text)}


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
    answer_words, question_words = _words(answer), _words(question)
    best, best_key = None, None
    for rank, hit in enumerate(passages):
        for start, end in sentence_spans(hit.text, join_wrapped_lines=True):
            words = _words(hit.text[start:end])
            # Words of the answer that the question did not already say carry the evidence.
            key = (len(words & (answer_words - question_words)), len(words & answer_words),
                   len(words & question_words), -rank)
            if best_key is None or key > best_key:
                best_key = key
                best = Quote(text=hit.text[start:end], source=hit.source, chunk_id=str(hit.chunk_id),
                             start=hit.start + start, end=hit.start + end)
    return best
