"""When to abstain: evidence too far from the question to hold its answer, or a model that says it cannot tell."""
from __future__ import annotations

import re
from collections.abc import Sequence

from core.text import STOPWORDS, word_set
from index.types import Hit

NOT_IN_DOCUMENTS = "The documents do not contain an answer to this question."

# What instruction-tuned models say when told to admit the passages lack the answer.
_MODEL_ABSTAINS = re.compile(r"^\W*(i (do not|don't) know|the passages do not|not in the (passages|documents))",
                             re.IGNORECASE)


def question_coverage(question: str, evidence: Sequence[Hit]) -> float:
    """The fraction of the question's content words (not stopwords) that the evidence contains."""
    asked = {w for w in word_set(question) if w not in STOPWORDS}
    if not asked:
        return 1.0
    said = set().union(*(word_set(e.text) for e in evidence)) if evidence else set()
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
