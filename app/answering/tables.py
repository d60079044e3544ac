"""Tables in a document's text: its rows (Markdown's `| key | what it says |`, which the HTML loader writes too), the
table a sentence leads into, and a row or a table read as an answer sentence.

A list is often held in a table (the logging levels, a format's presentation types, a program's settings): each row
names an item in its first cell and says what it is in the others. Quoted whole, a row keeps its item beside what
it says ("DEBUG — Detailed information, …"); a sentence that leads into a table ("The standard levels … are
described below:") is answered by the table's rows, each item with what it says, or only the items when the rows
are too long to read in one answer.
"""
from __future__ import annotations

import re

_ROW = re.compile(r"[ \t]*\|[^\n]*\|[ \t]*")
_SEPARATOR_ROW = re.compile(r"\|?(?:\s*:?-{3,}:?\s*\|)+\s*:?-*:?\s*")
_CELL = re.compile(r"[^|]+")
# A table read with what each row says, if its rows say at most this much; else its first cells only.
READ_WHOLE_CHARS = 900
MAX_ROWS = 16  # a longer table is a reference to look things up in, not a list to recite


def is_row(text: str) -> bool:
    """A whole table row: one line, starting and ending with a cell border."""
    return "\n" not in text.strip() and bool(_ROW.fullmatch(text.strip()))


def line_around(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) in `text` of the line(s) holding the span [start, end), without their line breaks."""
    line_end = text.find("\n", end)
    return text.rfind("\n", 0, start) + 1, len(text) if line_end < 0 else line_end


def is_separator(line: str) -> bool:
    """A Markdown table's separator row (`|---|---|`), under its header."""
    return bool(_SEPARATOR_ROW.fullmatch(line.strip()))


def cells(row: str) -> list[tuple[int, int]]:
    """[start, end) in `row` of each non-empty cell's text, stripped."""
    found = []
    for m in _CELL.finditer(row):
        if m.group().strip():
            start = m.start() + len(m.group()) - len(m.group().lstrip())
            found.append((start, m.start() + len(m.group().rstrip())))
    return found


def table_after(text: str, offset: int) -> tuple[int, int] | None:
    """[start, end) in `text` of the table that starts right after `offset` (only whitespace, at most one blank line,
    between): its consecutive rows, ending at the last one's border; None when no table follows there or it is longer
    than `MAX_ROWS` rows."""
    gap = re.compile(r"[ \t]*\n(?:[ \t]*\n)?").match(text, offset)
    if gap is None:
        return None
    start = end = gap.end()
    rows = 0
    for line in re.finditer(r"[^\n]*(?:\n|$)", text[start:]):
        if not line.group().strip() or not is_row(line.group()):
            break
        rows += 1
        end = start + line.start() + len(line.group().rstrip())
    if rows < 2 or rows > MAX_ROWS:  # a header alone is not a list
        return None
    return start + len(text[start:end]) - len(text[start:end].lstrip()), end


def row_read(row: str) -> str:
    """A row as a sentence: its cells' texts, the first (the item) then what the others say ("DEBUG — Detailed …")."""
    return " — ".join(row[a:b] for a, b in cells(row))


def body_rows(table: str) -> list[str]:
    """The table's rows that are items: not a Markdown separator row, nor the header above one, nor an empty row."""
    rows = [line.strip() for line in table.splitlines() if line.strip()]
    separator = next((n for n, row in enumerate(rows) if is_separator(row)), None)
    if separator is not None:
        rows = rows[separator + 1:]
    return [row for row in rows if cells(row)]


def table_read(table: str) -> str:
    """A table as the rest of a sentence that leads into it: its rows, each item with what it says, joined by
    semicolons; or its items only (the first cells, joined by commas) when that is more than `READ_WHOLE_CHARS`."""
    rows = body_rows(table)
    whole = [row_read(row).rstrip(" .;") for row in rows]
    if sum(len(r) for r in whole) <= READ_WHOLE_CHARS:
        return "; ".join(whole) + "."
    return ", ".join(row[slice(*cells(row)[0])] for row in rows) + "."


def _first_row_line(text: str) -> int | None:
    """The index in `text` where its first line that is a table row starts, if it has one."""
    at = 0
    for line in text.splitlines(keepends=True):
        if is_row(line):
            return at
        at += len(line)
    return None


def holds_rows(text: str) -> bool:
    """Whether `text` is a table row, or a sentence and the table it leads into: every line from its first row on
    is a whole row."""
    first = _first_row_line(text)
    return first is not None and all(is_row(line) for line in text[first:].splitlines() if line.strip())


def read_rows(text: str) -> str:
    """A row, or a sentence and the table it leads into, as an answer says it: the row's cells ("DEBUG — Detailed
    information, …"), or the sentence followed by the table's items (`table_read`)."""
    first = _first_row_line(text) or 0
    if is_row(text):
        return row_read(text.strip())
    return f"{text[:first].strip()} {table_read(text[first:])}"
