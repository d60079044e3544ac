"""SQuAD v1.1 questions and scoring: load a SQuAD-format JSON file, and score answers with EM and F1.

`normalize_answer`, `exact_match` and `f1` follow the official evaluate-v1.1.py script: lower-case,
drop punctuation, drop the articles a/an/the, collapse whitespace; a prediction scores the best it
gets against any of the gold answers.
"""
from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]  # gold answer strings, as written in the context
    title: str  # the article's SQuAD title, e.g. "Fresno,_California"
    context: str  # the paragraph holding the answers


def load_questions(path: Path) -> list[Question]:
    """Every question of a SQuAD-format file (data[].paragraphs[].qas[]), in file order."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    return [
        Question(qa["id"], qa["question"], tuple(a["text"] for a in qa["answers"]), article["title"], paragraph["context"])
        for article in data
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower-case, remove punctuation, remove articles, fix whitespace (SQuAD v1.1)."""
    s = "".join(ch for ch in s.lower() if ch not in _PUNCTUATION)
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def _f1_one(prediction: str, gold: str) -> float:
    prediction_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    same = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer, else 0.0."""
    return max((float(normalize_answer(prediction) == normalize_answer(g)) for g in golds), default=0.0)


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Token-overlap F1 of the normalised prediction against the best-matching gold answer."""
    return max((_f1_one(prediction, g) for g in golds), default=0.0)
