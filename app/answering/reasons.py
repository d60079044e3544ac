"""Reason questions: whether a question asks why, and whether an explanation's sentences give a reason.

A why-question ("Why …", "What made / led …", "For what reason …", "On what grounds …", "How come …") is answered
from the evidence sentences closest to it, and the closest sentences on a subject need not say why anything
is so: over the CPython tutorial, "Why does Python use exceptions instead of return codes?" drew four sentences
about exception classes, none a reason. Such an explanation is answered only when its sentences give a reason:

- one of them states a cause or a purpose in so many words ("because", "due to", "so that", "in order to",
  "therefore", "thus", "led to", "caused", "reason" …), or
- together they name nearly all that the question asks about (its content words, inflections allowed:
  "criticised" / "criticism"; `RAGQA_REASON_MIN_COVERAGE`): then they state the very thing to be explained,
  whose reason a document gives in its own words as often as with a marker ("his lack of aggression later
  earned him heavy criticism").

Otherwise the documents bear on the subject but not on the reason, and the answer is the abstention
(bench/RESULTS.md, issue 12, session 8). A why-question whose subject the documents name but whose reason
they do not give ("Why are tuples immutable?" over the tutorial) still passes: words cannot tell it apart.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from app.answering.support import FUNCTION_WORDS, claim_words

# The question asks for a reason: its opening says so.
_ASKS_WHY = re.compile(
    r"^\s*(why\b|how come\b|for what reasons?\b|on what grounds?\b|what (made|makes|led|leads|caused|causes)\b|"
    r"what (is|was|are|were) the (main |chief |real )?(reasons?|causes?|grounds?)\b)", re.IGNORECASE)

# A cause or a purpose stated in so many words. Not "as" or "for" (too often something else), and "since" only
# before words, not a date ("since 1871").
_GIVES_REASON = re.compile(
    r"\b(because|due to|owing to|thanks to|on account of|as a (result|consequence)|consequently|therefore|thus|"
    r"hence|so that|so as to|in order (to|that)|in an effort to|(led|leads|lead|leading) to|"
    r"caus(e|es|ed|ing)|reasons?|result(s|ed)? (in|from)|results? of|resulting|which is why|that is why|the purpose|"
    r"to (prevent|avoid|ensure|allow|enable|make sure)|since (?![\d(])|for fear)\b"
    r"|(^|[,;:]\s*|\band )so\b(?! (much|many|far|long|called)\b)", re.IGNORECASE)

# Words of a question's wording that name nothing it asks about.
_WORDING = FUNCTION_WORDS | frozenset("""did didn doesn don isn wasn weren hasn haven hadn aren won even though
actually really exactly why""".split())


def asks_for_reason(question: str) -> bool:
    """Whether the question asks why something is so, by its opening."""
    return bool(_ASKS_WHY.match(question))


def states_a_reason(text: str) -> bool:
    """Whether the text states a cause or a purpose in so many words."""
    return bool(_GIVES_REASON.search(text))


def asked_words(question: str) -> set[str]:
    """The question's content words, after its opening ("what made …") and without its wording's function words."""
    rest = _ASKS_WHY.sub("", question, count=1)
    return {w for w in claim_words(rest) if w not in _WORDING}


def _same_word(a: str, b: str) -> bool:
    """The same word, or two forms of it: a plural or past ("use" / "uses" / "used"), or a shared beginning of 4
    letters or more that leaves at most 2 of the shorter word ("late" / "later", "criticised" / "criticism",
    "heavily" / "heavy"; "use" / "useful" differ)."""
    short, long = sorted((a, b), key=len)
    if long in (short, short + "s", short + "es", short + "d", short + "ed"):
        return True
    shared = 0
    for x, y in zip(a, b):
        if x != y:
            break
        shared += 1
    return shared >= max(4, min(len(a), len(b)) - 2)


def coverage(question: str, texts: Iterable[str]) -> float:
    """The share of the question's content words that the texts hold (in some form); 1.0 when it has none."""
    asked = asked_words(question)
    if not asked:
        return 1.0
    said = {w for text in texts for w in claim_words(text)}
    return sum(1 for a in asked if a in said or any(_same_word(a, w) for w in said)) / len(asked)


def gives_reason(question: str, texts: Iterable[str], min_coverage: float) -> bool:
    """Whether an explanation made of `texts` answers a why-question: one states a reason, or together they
    hold at least `min_coverage` of the question's content words."""
    texts = list(texts)
    return any(states_a_reason(t) for t in texts) or coverage(question, texts) >= min_coverage
