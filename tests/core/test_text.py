"""Sentences as a reader sees them: a full stop after an abbreviation or an initial does not end one, nor does a
question mark that a lower-case word follows."""
from __future__ import annotations

import pytest

from core.text import sentence_spans


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text, join_wrapped_lines=True)]


@pytest.mark.parametrize("text, sentences", [
    ("The colony lay on the St. Johns River in 1562. Ribault erected a column.",
     ["The colony lay on the St. Johns River in 1562.", "Ribault erected a column."]),
    ("Varnholm is the largest U.S. city without a lighthouse. It has a harbour.",
     ["Varnholm is the largest U.S. city without a lighthouse.", "It has a harbour."]),
    ("The lamp was lit by John F. Keller in 1901. Then it burned for a century.",
     ["The lamp was lit by John F. Keller in 1901.", "Then it burned for a century."]),
    ("Use a pinned version, e.g. Python 3.11. Nothing else changes.",
     ["Use a pinned version, e.g. Python 3.11.", "Nothing else changes."]),
    ("12.1. Introduction\n12.2. Creating the index",
     ["12.1. Introduction", "12.2. Creating the index"]),
    ("The mill closed. The town grew!\nA new line starts here.",
     ["The mill closed.", "The town grew!", "A new line starts here."]),
    ("Their resources (open files, etc.) may not be released. Use a daemon thread only for that.",
     ["Their resources (open files, etc.) may not be released.", "Use a daemon thread only for that."]),
    # a title that asks something, inside a sentence: the next word, in lower case, goes on with it
    ("Refer to What can be pickled? to learn which objects can be. Is it safe? Only for data you trust.",
     ["Refer to What can be pickled? to learn which objects can be.", "Is it safe?", "Only for data you trust."]),
])
def test_an_abbreviation_or_initial_does_not_end_a_sentence(text, sentences):
    assert _sentences(text) == sentences
