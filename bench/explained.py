"""Scores of explanatory answers (`bench.quality` on explain-dev.json): key points, ROUGE-L, support, length.

Each answer sentence is checked as a reader would: its support spans must be the document's own
characters (`document[start:end] == text`) and carry the sentence (app/answering/support.py).
`false_accepts` measures that check itself on sentences it must refuse: sentences of another
article, and answer sentences with one number or name swapped for another article's.
"""
from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.support import is_supported
from app.schemas import AskResponse, Sentence
from bench.explain_set import ExplainQuestion, key_point_recall, rouge_l_f1, word_count
from core.text import sentence_spans
from index.directory import IndexDirectory


@dataclass(frozen=True)
class Explained:
    """What one explanatory question scored (`None` where an abstention has nothing to score)."""

    kind: str
    abstained: bool
    explained: bool  # given the explain shape
    key_point_recall: float
    rouge_l: float
    words: int
    sentences: int
    supported_sentences: int  # sentences whose every support span is verbatim and carries them
    retrieval_ms: float
    total_ms: float
    first_text_ms: float | None  # when the first piece of the answer's text was ready (streaming)


def sentence_is_supported(sentence: Sentence, index: IndexDirectory) -> bool:
    """Every support span is `document[start:end]` of its source, and together they carry the sentence."""
    for span in sentence.support:
        document = index.store.document_text(span.source)
        if document is None or document[span.start:span.end] != span.text:
            return False
    return is_supported(sentence.text, [span.text for span in sentence.support])


def score_explained(question: ExplainQuestion, response: AskResponse, index: IndexDirectory,
                    first_text_ms: float | None) -> Explained:
    answered = not response.abstained
    return Explained(
        kind=question.kind, abstained=response.abstained, explained=response.shape == "explain",
        key_point_recall=key_point_recall(response.answer, question.key_points) if answered else 0.0,
        rouge_l=rouge_l_f1(response.answer, question.reference) if answered else 0.0,
        words=word_count(response.answer) if answered else 0,
        sentences=len(response.sentences),
        supported_sentences=sum(sentence_is_supported(s, index) for s in response.sentences),
        retrieval_ms=response.timings_ms["retrieval"], total_ms=response.timings_ms["total"],
        first_text_ms=first_text_ms)


def _mean(values) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else None


def summarise_explained(outcomes: Sequence[Explained], percentiles) -> dict[str, float | None]:
    answered = [o for o in outcomes if not o.abstained]
    total_p50, total_p95 = percentiles(o.total_ms for o in outcomes)
    first_p50, first_p95 = percentiles(o.first_text_ms for o in outcomes)
    sentences = sum(o.sentences for o in answered)
    return {
        "key_point_recall": _mean(o.key_point_recall for o in outcomes),
        "key_point_recall_of_answered": _mean(o.key_point_recall for o in answered),
        "rouge_l_f1": _mean(o.rouge_l for o in outcomes),
        "support_rate": round(sum(o.supported_sentences for o in answered) / sentences, 4) if sentences else None,
        "words_per_answer": _mean(o.words for o in answered),
        "sentences_per_answer": _mean(o.sentences for o in answered),
        "answered_rate": _mean(not o.abstained for o in outcomes),
        "explain_shape_rate": _mean(o.explained for o in outcomes),
        "ask_ms_p50": total_p50, "ask_ms_p95": total_p95,
        "first_text_ms_p50": first_p50, "first_text_ms_p95": first_p95,
    }


def per_kind(outcomes: Sequence[Explained]) -> dict[str, dict[str, float | None]]:
    by_kind: dict[str, list[Explained]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.kind].append(o)
    return {kind: {"questions": len(items), "key_point_recall": _mean(o.key_point_recall for o in items),
                   "rouge_l_f1": _mean(o.rouge_l for o in items), "answered": _mean(not o.abstained for o in items),
                   "words": _mean(o.words for o in items if not o.abstained)}
            for kind, items in sorted(by_kind.items())}


_SWAPPABLE = re.compile(r"\b(\d[\d,.]*|[A-Z][a-z]{2,})\b")


def false_accepts(pairs: Sequence[tuple[Sentence, str]], index: IndexDirectory, seed: int = 0) -> dict[str, float | int]:
    """How often the support check accepts sentences it must refuse. `pairs`: each answer sentence with
    the source of its question's article. Against each sentence's own support spans it checks (a) a
    sentence of another article, and (b) the sentence with one number or capitalised word (not its
    first) replaced by one from another article."""
    rng = random.Random(seed)
    sources = sorted(index.store.manifest())
    foreign_sentences: dict[str, list[str]] = {}

    def sentences_of(source: str) -> list[str]:
        if source not in foreign_sentences:
            text = index.store.document_text(source) or ""
            foreign_sentences[source] = [text[a:b] for a, b in sentence_spans(text, join_wrapped_lines=True)
                                         if len(text[a:b].split()) >= 6]
        return foreign_sentences[source]

    other_tried = other_accepted = swap_tried = swap_accepted = 0
    for sentence, own in pairs:
        support = [span.text for span in sentence.support]
        others = [s for s in sources if s != own]
        foreign = sentences_of(rng.choice(others))
        if foreign:
            other_tried += 1
            other_accepted += is_supported(rng.choice(foreign), support)
        slots = [m for m in _SWAPPABLE.finditer(sentence.text) if m.start() > 0]
        replacements = [w for s in foreign for w in _SWAPPABLE.findall(s)]
        if slots and replacements:
            slot = rng.choice(slots)
            word = rng.choice([w for w in replacements if w.lower() not in sentence.text.lower()] or [""])
            if word:
                swap_tried += 1
                swap_accepted += is_supported(sentence.text[:slot.start()] + word + sentence.text[slot.end():], support)
    return {"other_article_sentences": other_tried,
            "other_article_false_accept_rate": round(other_accepted / other_tried, 4) if other_tried else None,
            "swapped_word_sentences": swap_tried,
            "swapped_word_false_accept_rate": round(swap_accepted / swap_tried, 4) if swap_tried else None}
