"""A question the documents ask themselves (an FAQ's entry) that the user's question restates, and its answer.

An FAQ answers "Why isn't there a switch or case statement in Python?" with "You can do this easily enough with a
sequence of if... elif... elif... else." and no word of the question: ranked by closeness to "Why is there no switch
statement in Python?", its sentences lose to others on the page, and no "because" tells the reason gate that they
give one. When one of the questions in the passages searched says what the user asks (cosine at least
`POSED_MIN_SIMILARITY`: a restatement, not a neighbouring entry, which measured 0.50 and under on the CPython FAQs),
the sentences after it in its passage, up to the next question or heading, are the answer its author wrote.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.answering.evidence import is_question
from core.text import sentence_spans
from index.embedder import Embedder
from index.types import Hit

POSED_MIN_SIMILARITY = 0.75  # "… no switch statement …" / "… isn't there a switch or case statement …": 0.86


@dataclass(frozen=True)
class Posed:
    """The documents' own question and the spans (in its document) of the sentences that answer it."""

    question: Hit
    answer: tuple[tuple[int, int], ...]


def posed_question(question: str, hits: Sequence[Hit], embedder: Embedder,
                   question_vector: np.ndarray | None = None) -> Posed | None:
    """The question of `hits` that restates `question`, with the sentences after it that answer it; None if none
    does, or nothing follows it in its passage."""
    asked = [(hit, start, end) for hit in hits for start, end in sentence_spans(hit.text, join_wrapped_lines=True)
             if is_question(hit.text[start:end])]
    if not asked:
        return None
    if question_vector is None:
        question_vector = embedder.embed_queries([question])[0]
    similarity = embedder.embed([hit.text[start:end] for hit, start, end in asked]) @ question_vector
    best = int(np.argmax(similarity))
    if similarity[best] < POSED_MIN_SIMILARITY:
        return None
    hit, start, end = asked[best]
    answer = []
    for s, e in sentence_spans(hit.text, join_wrapped_lines=True):
        if s < end:
            continue
        text = hit.text[s:e]
        if is_question(text) or text.startswith("#"):
            break  # the next entry
        answer.append((hit.start + s, hit.start + e))
    if not answer:
        return None
    posed = Hit(chunk_id=hit.chunk_id, source=hit.source, text=hit.text[start:end], start=hit.start + start,
                end=hit.start + end, score=hit.score, similarity=float(similarity[best]), metadata=hit.metadata)
    return Posed(posed, tuple(answer))


def answers(posed: Posed, sentence: Hit) -> bool:
    """Whether `sentence` is one of the sentences that answer the posed question."""
    return sentence.source == posed.question.source and any(
        start < sentence.end and sentence.start < end for start, end in posed.answer)
