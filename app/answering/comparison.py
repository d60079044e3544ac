"""Comparison questions: the two things a question compares, and an explanation that says something of each.

"What is the difference between a list and a tuple?" drew, over the CPython tutorial, four sentences on tuples
(one naming lists beside them) and none on lists alone: the sentences closest to a comparison tend to be about
whichever side the documents say more of. When a question names two things ("the difference between X and Y",
"X differs from Y", "compare X with Y", "X vs Y") and the sentences chosen speak of one side alone (a sentence
holding a word that names it and none that names only the other) but never of the other alone, the other side's
best sentence in the documents they come from (at least `RAGQA_EXPLAIN_MIN_SIMILARITY`
close to the question) takes the place of the furthest chosen one that neither the first sentence nor the other
side needs. When those documents say nothing of it alone (the question's search found no passage on it: "… a
kettle and a samovar?" drew only the kettle page), the side is searched for by its own words ("a samovar"), and
the best sentence of what that search finds, ranked against the question, joins from whichever document it is in:
still a sentence holding the side's own words and none of the other's only, as close to the question. Two kinds
of one thing ("the 2010 drought … the one five years earlier", "'Model C' schools … other state schools") are left
as ranked: a side named through the other has no words of its own to find it by (bench/RESULTS.md, issue 12,
session 8).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from app.answering.support import FUNCTION_WORDS, claim_words, stem
from index.types import Hit

_BETWEEN = re.compile(r"\b(?:differences?|distinctions?|trade-?offs?|contrast) between (?P<a>.+?) and (?P<b>.+?)\s*\??$",
                      re.IGNORECASE)
_FROM = re.compile(r"^\s*(?:how|in what ways?|what)\s+(?:\w+\s+)?(?P<a>.+?)\s+(?:differs?|different|distinct)\s+"
                   r"from\s+(?P<b>.+?)\s*\??$|\b(?:separates|distinguishes|tells apart)\s+(?P<a2>.+?)\s+from\s+"
                   r"(?P<b2>.+?)\s*\??$", re.IGNORECASE)
_WITH = re.compile(r"^\s*compare\s+(?P<a>.+?)\s+(?:with|to|and)\s+(?P<b>.+?)\s*[.?]?$"
                   r"|^\s*how\s+(?:do|does|did)\s+(?P<a2>.+?)\s+compare\s+(?:with|to)\s+(?P<b2>.+?)\s*\??$"
                   r"|^(?P<a3>.+?)\s+(?:vs\.?|versus)\s+(?P<b3>.+?)\s*\??$", re.IGNORECASE)
# A side named through the other: "the one five years earlier", "other state schools", "what astronauts had worn".
_ANAPHORIC = re.compile(r"\b(ones?|others?|another|that|those|what|same)\b", re.IGNORECASE)
_NOT_A_NAME = FUNCTION_WORDS | frozenset("one ones kind kinds way ways other another same non".split())


def compared(question: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """The words (stems) that name each of the two things the question compares and not the other, or None when
    it compares no two things by its wording."""
    phrases = compared_phrases(question)
    if phrases is None:
        return None
    a, b = phrases
    if _ANAPHORIC.search(a) or _ANAPHORIC.search(b):
        return None  # two kinds of one thing: which sentence is about either alone, words cannot tell
    first, second = _names(a), _names(b)
    first_only, second_only = _telling(first - second, second), _telling(second - first, first)
    if first_only and second_only:
        return frozenset(first_only), frozenset(second_only)
    return None


def _telling(names: set[str], others: set[str]) -> set[str]:
    """The words of `names` that tell their side from the other: not those a word naming the other is made of
    ("path" of os.path.join beside pathlib, whose page says "paths" throughout)."""
    return {w for w in names
            if len(w) < 3 or not any(len(o) > len(w) and (o.startswith(w) or o.endswith(w)) for o in others)}


def compared_phrases(question: str) -> tuple[str, str] | None:
    """The two things the question compares, as it words them ("os.path.join", "pathlib"), or None."""
    for pattern in (_BETWEEN, _FROM, _WITH):
        match = pattern.search(question)
        if match is not None:
            return tuple(next(g for g in groups if g) for groups in  # type: ignore[return-value]
                         ((match.groupdict().get(k) for k in ("a", "a2", "a3")),
                          (match.groupdict().get(k) for k in ("b", "b2", "b3"))))
    return None


def _names(phrase: str) -> set[str]:
    return {stem(w) for w in claim_words(phrase) if w not in _NOT_A_NAME}


def about(sentence: Hit, side: frozenset[str], other: frozenset[str]) -> bool:
    """The sentence is about `side` alone: it holds a word naming it and none naming only the other."""
    said = {stem(w) for w in claim_words(sentence.text)}
    return bool(said & side) and not (said & other)


def with_each_side(chosen: list[Hit], candidates: Sequence[Hit], sides: tuple[frozenset[str], frozenset[str]],
                   count: int, min_similarity: float,
                   searched_for: Callable[[int], Sequence[Hit]] | None = None) -> list[Hit]:
    """`chosen` (best first), with a side's closest sentence of `candidates` (ranked) about it alone when `chosen` has
    one about the other side alone and none about it: added while there is room for `count`, else in place of the
    furthest chosen sentence that is neither the first nor the other side's only one. When no candidate of the
    documents `chosen` draws on is about it, the closest of `searched_for(n)` (the sentences, ranked, of a search for
    side n: 0 the first named, 1 the second), from whichever document that search found."""
    chosen = list(chosen)
    for n, (side, other) in enumerate((sides, sides[::-1])):
        if not any(about(s, other, side) for s in chosen) or any(about(s, side, other) for s in chosen):
            continue  # both sides told together, or each alone: nothing one-sided to even out

        def joins(c: Hit) -> bool:  # close enough to the question, about the side alone, not said yet
            return c.similarity >= min_similarity and about(c, side, other) and all(c.text != s.text for s in chosen)

        sources = {s.source for s in chosen}  # the documents the explanation draws on, not another's namesake
        best = next((c for c in candidates if c.source in sources and joins(c)), None)
        if best is None and searched_for is not None:
            # The side's own search: a document it finds is about the side, as the side's words in the sentence say.
            best = next((c for c in searched_for(n) if joins(c)), None)
        if best is None:
            continue
        if len(chosen) < count:
            chosen.append(best)
            continue
        needed = [s for s in chosen if about(s, other, side)]
        replaceable = [n for n in range(1, len(chosen)) if not (len(needed) == 1 and chosen[n] is needed[0])]
        if replaceable:
            chosen[min(replaceable, key=lambda n: chosen[n].similarity)] = best
    return chosen
