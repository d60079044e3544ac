"""Text utilities shared by ingest and answering: sentence spans, words, and the stopwords that carry no topic."""
from __future__ import annotations

import re
import unicodedata

# A boundary is whitespace after sentence-final punctuation (with any closing quote or bracket),
# or a line break. Boundaries are only ever whitespace, so the word-pieces of a chunk are exactly
# the sum of its segments'. Segments are what lies between boundaries.
_BOUNDARY = re.compile(r"(?:(?<=[.!?…。！？])|(?<=[.!?…][\"'”’)\]]))\s+|\n+")
# For reading rather than packing: a single line break inside a paragraph is a soft wrap, not a
# boundary, unless the line ends with a colon or the next one starts a heading, list item, table
# row, quote or code fence.
_PROSE_BOUNDARY = re.compile(
    r"(?:(?<=[.!?…。！？])|(?<=[.!?…][\"'”’)\]]))\s+|(?<=:)[ \t]*\n\s*|\n[ \t]*\n\s*"
    r"|\n(?=[ \t]*(?:[#>|*+-]\s|\d+(?:\.\d+)*[.)]\s|```))"
)
# ... and a heading, table row or code fence ends at its own line end.
_STRUCTURE_LINE_END = re.compile(r"(?m)^[ \t]*(?:#|\||```)[^\n]*(\n)")

# Question words and glue: matching them ranks chunks by how chatty they are, not by topic.
STOPWORDS = frozenset("""a an and are as at be by can do does for from has have how i if in is it its me my of on
or our so that the their them then there these this to was we what when where which who why will with you your""".split())

_WORD = re.compile(r"\w+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """The words of `text` in order (runs of letters, digits and underscores), NFKC-normalised and lower-cased."""
    return [unicodedata.normalize("NFKC", w).lower() for w in _WORD.findall(text)]


def word_set(text: str) -> set[str]:
    """The distinct words of `text` (as `words_of` finds them)."""
    return set(words_of(text))


def sentence_spans(text: str, join_wrapped_lines: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed, in order.

    By default every line break also ends a segment (fine-grained, for packing chunks); with
    `join_wrapped_lines` a sentence hard-wrapped over several lines stays whole (for quoting).
    """
    if join_wrapped_lines:
        cuts = sorted([m.span() for m in _PROSE_BOUNDARY.finditer(text) if not _continues(text, *m.span())]
                      + [m.span(1) for m in _STRUCTURE_LINE_END.finditer(text)])
    else:
        cuts = [m.span() for m in _BOUNDARY.finditer(text)]
    spans, cursor = [], 0
    for start, end in cuts:
        if start < cursor:  # overlaps the previous cut
            continue
        spans.append(trim_span(text, cursor, start))
        cursor = end
    spans.append(trim_span(text, cursor, len(text)))
    return [(s, e) for s, e in spans if e > s]


# Where a full stop ends a word, not a sentence: an abbreviation ("St. Johns River", "Dr. Who", "e.g. Python", "Fig. 3")
# or an initial ("John F. Kennedy", "the U.S. Army").
_ABBREVIATION = re.compile(
    r"(?:\b(?:St|Mt|Ft|Mr|Mrs|Ms|Dr|Prof|Sr|Jr|Gen|Gov|Sen|Rep|Col|Capt|Lt|Sgt|Rev|Hon|Inc|Ltd|Corp|Co|Bros|No|Nos|"
    r"Vol|vol|pp|ca|approx|vs|cf|al|Fig|fig|Eq|eq|Jan|Feb|Apr|Aug|Sep|Sept|Oct|Nov|Dec|e\.g|i\.e)|(?<![\w'’])[A-Z])\.$")


_CLOSING = "\"'”’)]"  # what may close a sentence after its full stop
_SECTION_NUMBER = re.compile(r"\s*(?:[-*+]\s+)?\d+(?:\.\d+)*\.")  # (a list item's, after its bullet)


def _continues(text: str, start: int, end: int) -> bool:
    """Whether the sentence goes on past the full stop of this boundary: the stop ends an abbreviation, an initial
    or the number a line opens with ("12.1. Introduction"), or the next word is in lower case ("the U.S. city of
    Fresno"); past a question or exclamation mark that the next word, in lower case, shows to be a title's ("Refer to
    What can be pickled and unpickled? to learn what kinds …"). Line breaks still end sentences."""
    stop = start
    while stop > 0 and text[stop - 1] in _CLOSING:  # "(such as open files, etc.) may not be released"
        stop -= 1
    if "\n" in text[start:end] or text[stop - 1:stop] not in (".", "?", "!"):
        return False
    following = text[end:end + 1]
    if text[stop - 1] != ".":
        return following.islower()
    line_start = text.rfind("\n", 0, stop) + 1
    numbered = _SECTION_NUMBER.fullmatch(text, line_start, stop)  # "12.1. Introduction": a heading's number
    return following.islower() or bool(numbered or _ABBREVIATION.search(text, max(0, stop - 8), stop))


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """`start`, `end` moved inwards past whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
