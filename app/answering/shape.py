"""The answer shape a question wants: a short span of the documents, or an explanation of a few sentences.

`auto` decides from the question's wording alone, and only on clear cues: a question that opens
with "why", "describe", "explain", "compare", "what happens when" …, asks what something does or returns ("What does
functools.lru_cache do?", "What does enumerate return?"), asks how something happened or works ("How did …",
"How does …") or how to do something ("How do I …"), asks yes or no, for a difference, a meaning, a purpose ("built
for?") or a reason ("what made …"), asks two things at once, or asks what a bare term is. Everything
else keeps the short answer, which is what a name, number or date question wants (and what the factoid
benchmark scores). "How is X funded?" stays short: by wording it cannot be told from factoid ones, and
sending such questions to the explain shape cost more factoid F1 than the benchmark's floor allows
(bench/RESULTS.md, issue 12). A question for several things ("Which groups …", `asks_for_several`) is
first answered short, and gets an explanation when that short answer names a single thing
(`Answerer.ask`). `style: explain` asks for an explanation of anything.
"""
from __future__ import annotations

import re
from typing import Literal

Shape = Literal["short", "explain"]
Style = Literal["auto", "short", "explain"]

# Openings that ask for an account, a reason or a comparison, never for a single phrase.
_EXPLAIN_OPENING = re.compile(
    r"^\s*(why\b|describe\b|explain\b|walk me through\b|tell me (about|how|why)\b|summari[sz]e\b|outline\b|"
    r"give (me )?an overview\b|compare\b|contrast\b|in what ways?\b|what happened when\b|on what grounds\b|"
    r"what happens (when|if|to|after|before)\b|"
    r"what (does|do) [^?]+ (do|return|yield|raise|set|control|configure|specify|determine|change|affect)\s*\?*\s*$)",
    re.IGNORECASE)
# Words that ask for a relation between things, a meaning, a cause, a stance ("position on") or how something is
# divided up ("How is power split between …").
_EXPLAIN_WORDS = re.compile(
    r"\b(differ|differs|difference between|differences between|distinguishes|trade-?offs?|pros and cons|"
    r"advantages and disadvantages|what separates|mean by|what does it mean|what makes|"
    r"relate to (one another|each other)|compare with the|how does it work|"
    r"(used|built|made|designed|meant|intended) for(?=\s*\?)|"
    r"for what (purpose|reason)|^\s*what (made|led) |"
    r"(position|positions|view|views|stance|attitude|opinion|opinions) (on|about|towards?|regarding)|"
    r"\bhow (is|are|was|were) [^?]*\b(divided|split|shared|organi[sz]ed|structured|distributed|allocated|apportioned)|"
    r"the (two|three|four|five|six|main|key) (stages|steps|phases|types|kinds|parts|ways|reasons|components|networks))\b",
    re.IGNORECASE)
# Two questions in one: "What is X, and where ...?", "How ..., and what ...?"
_TWO_QUESTIONS = re.compile(
    r"\band (why|how|what|where|who|when|which) (is|are|was|were|do|does|did|can|could|has|have|happened)\b"
    r"|, and (is|are|was|were|does|do|did) ", re.IGNORECASE)
# "What is X?" for a bare term: "What is mode collapse?", "What are 'reserved matters' under Scottish devolution?",
# "What was ARTS, the service ABC started in 1982?" (the term, then what it is said to be)
_TERM_QUESTION = re.compile(
    r"^\s*what (is|are|was|were) (an? )?(?P<term>['\"‘“][^'\"’”]+['\"’”]|[\w\-]+( [\w\-]+)?)"
    r"(,| (in|under) [A-Za-z\-']+( [A-Za-z\-']+){0,3}|, (the|an?|one of) [^?]+)?( (actually|really|exactly))?( about)?"
    r"\s*\?*\s*$", re.IGNORECASE)
_NOT_A_TERM = frozenset("the this that these those it there one another some usually".split())
# "How did X come to …", "How was authority split …", "How has the work changed …", "How does pip resolve …": an
# account of how something happened or works. Not an amount ("how many" takes no auxiliary), not a state ("How
# are schools funded?", "How can it be written?") and not "How do X compare / fight …": the factoid questions
# phrased so were answered well short (bench/RESULTS.md, issue 12); nor a how-to the reader asks ("How do I …").
_HOW_ACCOUNT = re.compile(
    r"(^|[,;:] )\s*how (did|does|was|were|has|have|had)\b(?! (i|you|we|one)\b)", re.IGNORECASE)
# A how-to the reader asks for themselves: "How do I create a virtual environment?", "How can we ...", "How to ...":
# the steps or the command, which a phrase cannot hold. ("How can you protest ...?" is generic, and stays short.)
# Advice the same: "When should I use OrderedDict instead of dict?" asks for the reasons, not a moment.
# A yes-or-no question ("Is functools.lru_cache thread-safe?", "Does the new deal include video on demand?"): the
# sentences that decide it, since "yes" is no phrase of the documents; not a choice ("Were they restored … or did they
# remain black and white?"), whose answer is one of the two.
_POLAR = re.compile(r"^\s*(?:is|are|was|were|does|do|did|can|could|should|will|would|has|have|had|may|must)\b"
                    r"(?![^?]*\bor\b)", re.IGNORECASE)
_HOW_TO = re.compile(r"^\s*(how (do|can|should|would|could|must) (i|we)\b|how to\b|"
                     r"when (should|would|do|must|could) (i|we)\b|when to\b)", re.IGNORECASE)


# Asks for several things: "Which peoples did they fight?", "What lasting effects did it have?", "Who are some of …",
# "What other diseases …", "What were the main findings …", "What are the logging levels?" (all it asks). By wording
# alone such a question cannot be told from a factoid one (bench/RESULTS.md, issue 12): its short answer names every
# item of the list it is in (`enumeration.whole_list`), and under `auto` a short answer that names one thing gives way
# to an explanation (`Answerer.ask`). Not a plural that is the question's subject ("What are environmentalists concerned about?"),
# nor a type or kind ("What types of schools are most of them?"), which is usually one, unless the question asks
# what kinds there are ("What kinds of errors are there?").
_NOT_BEFORE_HEAD = (r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|might|may|must|"
                    r"(?:types?|kinds?|sorts?)\s+of)\b")
_PLURAL_HEAD = re.compile(
    r"^\s*(?:[^,?]*,\s*)?(?:what|which)\s+(?:(?!" + _NOT_BEFORE_HEAD + r")[a-z\-]+\s+){0,2}?"
    r"(?P<head>(?!" + _NOT_BEFORE_HEAD + r")[a-z\-]{3,}s)\b(?<!ss)(?<!is)(?<!us)\s+"
    r"(?:of \w+(?: \w+)? )?(?:did|do|does|were|are|have|had|has|make|made|can|could|would|will|should|might|may|"
    r"typically|usually|often|\w+ed)\b", re.IGNORECASE)
_SEVERAL = re.compile(r"\b(?:who|what|which) (?:are|were) some\b|\bwhat other (?:[a-z\-]+ ){0,2}?[a-z\-]{3,}s\b(?<!ss)|"
                      r"\b(?:what|which) (?:are|were) the (?:main|key|major|chief|principal) \w+s\b|"
                      r"\b(?:what|which) (?:kinds|types|sorts) of [\w\- ]+? (?:are there|exist)\b|"
                      r"^\s*(?:what|which) (?:are|were) the (?:[\w\-]+ ){0,3}[\w\-]{3,}s\?\s*$(?<!ss\?)",
                      re.IGNORECASE)


def asks_for_several(question: str) -> bool:
    """Whether the question asks for several things of a kind (a list), by its wording."""
    return bool(_SEVERAL.search(question) or _PLURAL_HEAD.search(question))


def question_shape(question: str, style: Style = "auto") -> Shape:
    """`short` or `explain`: the style asked for, or with `auto`, the shape the question's wording asks for."""
    if style != "auto":
        return style
    q = question.strip()
    if (_EXPLAIN_OPENING.search(q) or _EXPLAIN_WORDS.search(q) or _TWO_QUESTIONS.search(q) or _HOW_ACCOUNT.search(q)
            or _HOW_TO.search(q) or _POLAR.search(q)):
        return "explain"
    if asked_term(q) is not None:
        return "explain"
    return "short"


def asked_term(question: str) -> str | None:
    """The bare term a "What is X?" question asks about ("daemon thread" of "What is a daemon thread?", "reserved
    matters" of "What are 'reserved matters' under Scottish devolution?"), else None."""
    m = _TERM_QUESTION.match(question.strip())
    if m is None or m.group("term").split()[0].lower() in _NOT_A_TERM:
        return None
    return m.group("term").strip("'\"‘’“”")


_CHOICE = re.compile(r"\b(?:or|between)\b", re.IGNORECASE)


def offers_a_choice(question: str) -> bool:
    """Whether the question names the things its answer is one of ("… the Broncos and Steelers?", "… or did they
    remain black and white?"): an answer in its own words may be right."""
    return _CHOICE.search(question) is not None
