"""The explanatory question set (explain-dev.json) and its scores: key-point recall and ROUGE-L F1.

A file holds `questions[]`, each with `id`, `article` (file name), `kind` (how / why / what-is /
compare / list / describe), `question`, `reference` (the article's own sentences that answer it)
and `key_points` (groups of alternative phrasings, one group per fact a complete answer states).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_MARKER = re.compile(r"\s*\[\d+(?:,\s*\d+)*\]")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class ExplainQuestion:
    id: str
    question: str
    kind: str
    article: str  # file name of the article that answers it
    reference: str
    key_points: tuple[tuple[str, ...], ...]

    @property
    def title(self) -> str:  # the harness groups questions by their article
        return self.article


def is_explain_file(path: Path) -> bool:
    """An explanatory set (a top-level `questions` list), not a SQuAD file (`data`)."""
    try:
        return "questions" in json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def load_explain_questions(path: Path) -> list[ExplainQuestion]:
    items = json.loads(Path(path).read_text(encoding="utf-8"))["questions"]
    return [ExplainQuestion(q["id"], q["question"], q["kind"], q["article"], q["reference"],
                            tuple(tuple(group) for group in q["key_points"])) for q in items]


def without_markers(answer: str) -> str:
    """The answer's text without its `[n]` citation markers."""
    return _MARKER.sub("", answer).strip()


def key_point_recall(answer: str, key_points: tuple[tuple[str, ...], ...]) -> float:
    """Share of key-point groups of which the answer contains a phrasing (case-insensitive substring)."""
    text = without_markers(answer).lower()
    return sum(any(p.lower() in text for p in group) for group in key_points) / len(key_points)


def _lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def rouge_l_f1(answer: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens: longest common subsequence against the reference."""
    predicted = _WORD.findall(without_markers(answer).lower())
    wanted = _WORD.findall(reference.lower())
    common = _lcs(predicted, wanted) if predicted and wanted else 0
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def word_count(answer: str) -> int:
    return len(_WORD.findall(without_markers(answer)))
