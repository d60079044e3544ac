"""Sentence-level support: does a span of the documents carry everything an answer sentence states?

A sentence is supported when each of its content words occurs in its support spans (allowing one
common inflection: "walls" for "wall", "fought" is not "fight") and each of its numbers occurs as
written; function words are ignored, negations are not. The check is lexical on purpose: a claim
whose words the documents do not hold cannot pass, however it is phrased (docs/grounding.md).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from core.text import STOPWORDS

# Words that carry no claim of their own: question words, articles, auxiliaries, pronouns. Never a
# negation ("not", "no", "never"): dropping one would let a sentence say the opposite of its support.
FUNCTION_WORDS = STOPWORDS | frozenset("""also although been being both but could during each had he her hers
him his into its itself may might more most much must other others over shall she should some such than
they those through under until upon us very were while whom whose would""".split())

_FOLD = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-",
                       "‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " "})
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|\w+")
_DIGIT = re.compile(r"\d")


def stem(word: str) -> str:
    """The word without one common inflection, so "walls" and "wall", "studies" and "study" agree (crude, and
    meant to be: "fought" stays apart from "fight")."""
    if len(word) < 4:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    for suffix in ("ed", "ing", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[:-len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    """Lower-cased words and numbers ("1,200", "3.5" stay whole), dashes and quotes unified."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text.translate(_FOLD)).lower())


def claim_words(text: str) -> list[str]:
    """The words of `text` that state something: not function words, not single letters."""
    return [t for t in tokens(text) if t not in FUNCTION_WORDS and (len(t) > 1 or t.isdigit())]


def unsupported_words(sentence: str, support: Iterable[str]) -> list[str]:
    """The claim words of `sentence` that no support span holds (empty: the support carries it)."""
    said = [t for text in support for t in tokens(text)]
    numbers = {t for t in said if _DIGIT.search(t)}
    stems = {stem(t) for t in said}
    return [word for word in claim_words(sentence)
            if ((word not in numbers) if _DIGIT.search(word) else (stem(word) not in stems))]


def is_supported(sentence: str, support: Iterable[str]) -> bool:
    """The sentence states something, and its support spans hold every word of it that states it."""
    support = list(support)
    return bool(support) and bool(claim_words(sentence)) and not unsupported_words(sentence, support)
