"""How much of a query's rare words one sentence of a passage holds: the second stage of hybrid retrieval, and
part of how the answerer ranks evidence sentences (`text_shares`).

A question is usually answered by one sentence, and that sentence tends to share the question's
rarest words; BM25 and the embedding score whole passages. For each candidate passage this finds
the sentence (and the pair of consecutive sentences) holding the largest share of the query's IDF
weight. Words are matched on a crude stem (lower case, one inflection off).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from functools import lru_cache

from core.text import sentence_spans

_SUFFIXES = ("'s", "ies", "ing", "ed", "es", "s")
# A text's words: runs of letters, digits and "_", as the query's words are written ("read_text", "__init__"), and the
# parts FTS5's unicode61 tokenizer splits them into at "_", as it counts them: the sentence "@functools.lru_cache(…)"
# holds the words "lru_cache", "lru" and "cache" (of "How do I cache …?").
_WORD = re.compile(r"\w+")
_PART = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1 << 16)  # a passage's words repeat across queries: stem each once
def stem(word: str) -> str:
    """Lower case, one English inflection and a final e off: `Trees` and `tree`, `ruled` and `rule`."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def inverse_document_frequency(matching: int, total: int) -> float:
    """BM25's IDF: log(1 + (N - n + 0.5) / (n + 0.5)), always positive."""
    return math.log(1 + (total - matching + 0.5) / (matching + 0.5))


def query_weights(document_frequency: Mapping[str, int], total: int) -> dict[str, float]:
    """{stem: IDF} of the query words, from their document frequencies (a word's stems share the larger)."""
    weights: dict[str, float] = {}
    for word, matching in document_frequency.items():
        key = stem(word)
        weights[key] = max(weights.get(key, 0.0), inverse_document_frequency(matching, total))
    return weights


def sentence_shares(weights: Mapping[str, float], texts: Sequence[str]) -> list[tuple[float, float]]:
    """For each text: (best share of the weights held by one sentence, ... by two consecutive ones), in [0, 1]."""
    total = sum(weights.values())
    if not total:
        return [(0.0, 0.0)] * len(texts)
    shares = []
    for text in texts:
        folded = _folded(text)
        found = [_held(weights, folded[start:end]) for start, end in sentence_spans(folded)]
        held = [sum(weights[s] for s in sentence) for sentence in found]
        pairs = [sum(weights[s] for s in a | b) for a, b in zip(found, found[1:])] or held
        shares.append((max(held, default=0.0) / total, max(pairs, default=0.0) / total))
    return shares


def text_shares(weights: Mapping[str, float], texts: Sequence[str]) -> list[float]:
    """For each text (a sentence), the share of the weights its words hold, in [0, 1]."""
    total = sum(weights.values())
    if not total:
        return [0.0] * len(texts)
    return [sum(weights[s] for s in _held(weights, _folded(text))) / total for text in texts]


def _folded(text: str) -> str:
    """As core.text.words_of normalises, once per text rather than once per word."""
    return unicodedata.normalize("NFKC", text).lower()


def _held(weights: Mapping[str, float], folded: str) -> set[str]:
    """The weighted stems that the (folded) text holds."""
    words = _WORD.findall(folded)
    words += [part for word in words if "_" in word for part in _PART.findall(word)]
    return {s for s in map(stem, words) if s in weights}
