"""A short answer to a question that asks for several things, widened to every item of the list it stands in.

A small model asked "Who are some of the villains the Doctor keeps coming up against?" copies part of
the list its sentence gives ("Daleks, the Cybermen" of "… including the Daleks, the Cybermen, and the
Master"). When the question asks for several things (`shape.asks_for_several`), the span is widened
over the neighbouring items of that list: short stretches of the same clause separated by commas, with
"and", "or" or "as well as" before the last. Items are at most `MAX_ITEM_WORDS` words, so a comma between
two clauses does not make a list; the first item starts after the words that lead into the list
("fighting against the Pechenegs" → "the Pechenegs"). Nothing changes unless the widened span is a list.
"""
from __future__ import annotations

import re

MAX_ITEM_WORDS = 5
# What separates two items: a comma, a conjunction, or both ("Tang, Song, as well as Khitan Liao").
_SEPARATOR = re.compile(r"\s*,\s*(?:(?:and|or|as well as)\s+)?|\s+(?:and|or|as well as)\s+")
_CONJUNCTION = re.compile(r"\b(and|or|as well as)\b")
# Where a clause ends: the list does not run past these.
_CLAUSE_END = re.compile(r"[;:()\[\]\n]|\.(?=\s|$)")
_WORD = re.compile(r"\S+")
# Where an item starts after the words that lead into a list ("including the Daleks", "against the Pechenegs").
_ITEM_START = re.compile(r"\b(?:the|a|an|their|its|his|her|our|[A-Z][\w\-']*)\b")
_DETERMINERS = frozenset("the a an their its his her our this these those".split())
_LEAD_WORDS = frozenset("including such as like namely especially notably particularly mainly mostly primarily "
                        "chiefly also both either".split())


def whole_list(start: int, end: int, text: str) -> tuple[int, int]:
    """[start, end) of `text` widened over the list of items it belongs to; unchanged when it is not in one."""
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    right = next((m.start() for m in _CLAUSE_END.finditer(text, end)), len(text))
    separators = [m for m in _SEPARATOR.finditer(text, left, right) if m.end() > m.start()]
    bounds = [left, *[p for m in separators for p in (m.start(), m.end())], right]
    segments = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    first = next(i for i, (_, b) in enumerate(segments) if start < b or i == len(segments) - 1)
    last = next(i for i, (_, b) in enumerate(segments) if end <= b or i == len(segments) - 1)

    def words(i: int) -> list[str]:
        return _WORD.findall(text[segments[i][0]:segments[i][1]])

    def short(i: int) -> bool:
        return 0 < len(words(i)) <= MAX_ITEM_WORDS

    def after_conjunction(i: int) -> bool:  # segment i follows "and", "or" or "as well as"
        return i > 0 and bool(_CONJUNCTION.search(separators[i - 1].group()))

    def item_start(i: int) -> int | None:  # where the item starts in a stretch that leads into the list
        found = list(_WORD.finditer(text, segments[i][0], segments[i][1]))
        first_word = found[0].group() if found else ""
        if after_conjunction(i) or len(found) < 2 or not first_word[:1].islower() or first_word in _DETERMINERS:
            return None
        named = _ITEM_START.search(text, found[1].start(), segments[i][1])
        if named:
            return named.start()
        rest = next((w for w in found if w.group().lower() not in _LEAD_WORDS), None)
        return rest.start() if rest is not None and rest is not found[0] else None

    if not (short(first) and short(last)):
        return start, end
    new_first, new_last = first, last

    def has_conjunction() -> bool:
        return any(after_conjunction(i) for i in range(new_first + 1, new_last + 1))

    while new_last + 1 < len(segments) and short(new_last + 1) and not has_conjunction():
        new_last += 1  # on to the right, up to the item after "and"
    item_words = [len(words(i)) for i in range(first, new_last + 1)]
    typical = sorted(item_words)[len(item_words) // 2]
    first_item = item_start(new_first)
    while first_item is None and new_first > 0 and not (after_conjunction(new_first) and has_conjunction()):
        new_first -= 1  # on to the left, over the items before "and", to the one that opens the list
        first_item = item_start(new_first)
        if first_item is None and len(words(new_first)) > typical + 1:  # a longer stretch ends with the first item
            first_item = _last_item(text, segments[new_first], typical)
            break
    items = new_last - new_first + 1
    comma_only_pair = items == 2 and "," in separators[new_first].group()
    if (new_first, new_last) == (first, last) or not has_conjunction() or comma_only_pair:
        return start, end  # no item added, or not a list: "X, and Y" may be two clauses
    if new_first < first:
        start = first_item if first_item is not None else segments[new_first][0]
    return start, max(end, segments[new_last][1])


def names_several(answer: str) -> bool:
    """Whether a short answer is a list of items ("typhus, smallpox and respiratory infections"), not one thing."""
    items = [item for item in _SEPARATOR.split(answer) if item.strip()]
    return (len(items) >= 2 and bool(_CONJUNCTION.search(answer) or len(items) >= 3)
            and all(len(_WORD.findall(item)) <= MAX_ITEM_WORDS for item in items))


def _last_item(text: str, segment: tuple[int, int], typical: int) -> int:
    """Where the first item starts at the end of a longer stretch: as many words as the other items have
    (`typical`), and the capitalised words of a name before them ("home to Mexican Americans")."""
    found = list(_WORD.finditer(text, segment[0], segment[1]))
    begin = max(0, len(found) - max(1, typical))
    while begin > 0 and found[begin - 1].group()[:1].isupper() and begin > 1:
        begin -= 1
    return found[begin].start()
