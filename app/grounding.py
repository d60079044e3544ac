"""Grounding: when to abstain, and how retrieved chunks become citations."""
from __future__ import annotations

import re
from collections.abc import Sequence

from app.schemas import Citation
from index.types import Hit

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


def retrieval_is_too_weak(hits: Sequence[Hit], threshold: float) -> bool:
    """No passage is similar enough to the question to hold its answer."""
    return not hits or max(h.similarity for h in hits) < threshold


def model_abstained(answer: str) -> bool:
    return not answer.strip() or bool(_MODEL_ABSTAINS.match(answer))


def citation(hit: Hit) -> Citation:
    return Citation(source=hit.source, chunk_id=str(hit.chunk_id), text=hit.text, score=hit.score,
                    similarity=hit.similarity, start=hit.start, end=hit.end, page=hit.metadata.get("page"))
