"""Answer spans: the model's phrase mapped onto the exact words of the evidence, and trimmed.

A small model copies a phrase but not always faithfully: it turns "20–18" into "20-18", adds the
unit the question already named ("308 points" for "How many points…"), or changes case. An
answer that is a span of the evidence is easier to verify and scores better, so the phrase is
located in the evidence (exactly, then modulo dashes, quotes and case, then as the evidence span
sharing the most words with it) and the words it repeats from the question are cut from its edges.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from app.answering.enumeration import whole_list
from core.text import STOPWORDS, words_of
from index.types import Hit

_FOLD = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-",
                       "‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " "})
_TOKEN = re.compile(r"\w+(?:[.,'’-]\w+)*|[^\w\s]")


@dataclass(frozen=True)
class Span:
    """Where an answer lies in the evidence: passage `passage`, characters [start, end) of its text."""

    passage: int
    start: int
    end: int


def _fold(text: str) -> str:
    """Same length as `text`: dashes and quotes unified, lower-cased (for matching only)."""
    folded = text.translate(_FOLD)
    lowered = folded.lower()
    return lowered if len(lowered) == len(text) else folded


def locate(answer: str, passages: Sequence[Hit], min_overlap: float = 0.5) -> Span | None:
    """The evidence span that says the answer: an exact or folded occurrence, else the window of
    evidence tokens with the best word-overlap F1 (at least `min_overlap`); None when nothing does."""
    if not answer.strip():
        return None
    folded_answer = _fold(answer.strip())
    for n, passage in enumerate(passages):  # best passage first
        at = passage.text.find(answer.strip())
        if at < 0:
            at = _fold(passage.text).find(folded_answer)
        if at >= 0:
            return Span(n, at, at + len(answer.strip()))
    target = Counter(words_of(answer))
    if not target:
        return None
    best, best_f1 = None, min_overlap
    size = sum(target.values())
    for n, passage in enumerate(passages):
        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(passage.text)]
        for i in range(len(tokens)):
            window: Counter = Counter()
            for j in range(i, min(len(tokens), i + size + 4)):
                window.update(words_of(tokens[j][2]))
                same = sum((window & target).values())
                if not same:
                    continue
                f1 = 2 * same / (sum(window.values()) + size)
                if f1 > best_f1:
                    best, best_f1 = Span(n, tokens[i][0], tokens[j][1]), f1
    return best


_NUMBER_WORDS = frozenset("one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty "
                          "hundred thousand million billion dozen".split())


def _is_number(token: str) -> bool:
    return any(c.isdigit() for c in token) or token.lower() in _NUMBER_WORDS


def trim_to_new_words(answer: str, question: str) -> str:
    """Cut the words at the answer's start that only repeat the question, and a unit the question
    named after a number at its end ("308 points" → "308" for "How many points…"); never the
    whole answer, and never a word that continues a capitalised name."""
    question_words = set(words_of(question))
    tokens = list(_TOKEN.finditer(answer))

    def repeats(token: re.Match) -> bool:
        words = words_of(token.group())
        if not words:
            return token.group() in ",.;:!?"
        if len(token.group()) > 1 and token.group().isupper():  # "DELETE /documents/{id}": code or an acronym
            return False
        return all(w in question_words or w in STOPWORDS for w in words)

    def names_on(token: re.Match, inner: re.Match) -> bool:  # "the Great Yuan": a name goes on, keep it whole
        return token.group()[:1].isupper() and inner.group()[:1].isupper()

    first, last = 0, len(tokens) - 1
    while first < last and repeats(tokens[first]) and not names_on(tokens[first], tokens[first + 1]):
        first += 1
    # At the end, only a unit after a number goes ("308 points"); "tall palm trees" keeps its noun.
    while last > first and repeats(tokens[last]) and _is_number(tokens[last - 1].group()):
        last -= 1
    if first == last and repeats(tokens[first]):
        return answer
    return answer[tokens[first].start():tokens[last].end()]


def only_repeats(answer: str, question: str) -> bool:
    """Whether every word of the answer is a word of the question or a stop word."""
    question_words = set(words_of(question))
    return all(w in question_words or w in STOPWORDS for w in words_of(answer))


_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_CELL = re.compile(r"[^|]+")


def main_cell(said: str) -> tuple[int, int] | None:
    """[start, end) in `said` of the table cell holding most of its words, stripped; None without a cell border."""
    if "|" not in said:
        return None
    cells = [m for m in _CELL.finditer(said) if m.group().strip()]
    if not cells:
        return None
    cell = max(cells, key=lambda m: len(re.findall(r"\w", m.group())))
    return cell.start() + len(cell.group()) - len(cell.group().lstrip()), cell.start() + len(cell.group().rstrip())


def _one_cell(span: Span, text: str) -> Span:
    """A span across a table's cell border ("` | `faiss") narrowed to the cell holding most of its words."""
    cell = main_cell(text[span.start:span.end])
    return span if cell is None else Span(span.passage, span.start + cell[0], span.start + cell[1])



def _closed(span: Span, text: str) -> Span:
    """`span` extended over the closing brackets and backticks that its own openers wait for
    ("`DELETE /documents/{id" → "`DELETE /documents/{id}`"): a word window ends at a word."""
    needed = []
    for char in text[span.start:span.end]:
        if char in _CLOSERS:
            needed.append(_CLOSERS[char])
        elif needed and char == needed[-1]:
            needed.pop()
    if text[span.start:span.end].count("`") % 2:
        needed.insert(0, "`")
    end = span.end
    while needed and end < len(text) and text[end] == needed[-1]:
        needed.pop()
        end += 1
    return Span(span.passage, span.start, end)


def answer_span(answer: str, question: str, passages: Sequence[Hit], several: bool = False) -> tuple[str, Span | None]:
    """The answer as the evidence words it stands for, trimmed of the question's own words; with `several`
    (the question asks for a list), widened over every item of the list it stands in.

    Returns the answer text and its span in `passages` (None when the evidence does not say it,
    in which case the model's answer is returned as it was). The text is on one line: a span of a
    hard-wrapped document keeps its line breaks only in the quote."""
    span = locate(answer, passages)
    if span is None or (several and only_repeats(answer, question)):
        # (a question for several things answered with its own words, "metacharacters" for "Which metacharacters …?",
        # names no item: widened over the "list" those words stand in, it would be any clause of commas around them)
        return answer, None
    span = _closed(_one_cell(span, passages[span.passage].text), passages[span.passage].text)
    if several:
        span = Span(span.passage, *whole_list(span.start, span.end, passages[span.passage].text))
    text = passages[span.passage].text[span.start:span.end]
    trimmed = trim_to_new_words(text, question)
    if trimmed != text:
        offset = text.find(trimmed)
        span = Span(span.passage, span.start + offset, span.start + offset + len(trimmed))
    return " ".join(trimmed.split()), span


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


_PASSAGE_MARK = re.compile(r"\s*\[\d+\]")


def clean_answer(text: str) -> str:
    """The answer phrase: loops cut, passage marks like [1] and wrapping quotes or a final period removed."""
    answer = _PASSAGE_MARK.sub("", trim_repetition(text)).strip()
    if answer.endswith(".") and answer.count(".") == 1:  # a sentence's period, not "e.g." or "3.5"
        answer = answer[:-1]
    if len(answer) > 1 and answer[0] == answer[-1] and answer[0] in "\"'`":
        answer = answer[1:-1].strip()
    return answer
