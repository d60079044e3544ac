"""The cell of a table a question asks for: the row it names by its first cell, the column it names by its header.

A configuration table (`| Variable | Default | Meaning |`) answers "What is the default of RAGQA_MAX_CONTEXT_CHARS?"
in one cell, `6000`; the model reads the row without its header and picks a number from the meaning ("at least 200").
When an evidence sentence lies in a row whose first cell the question names, and the question names one of the
table's other column headers ("default"), that row's cell in that column is the answer, as the documents write it.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.answering.support import stem, tokens
from app.answering.tables import cells, is_row, is_separator, line_around
from index.types import Hit

_MARKUP = re.compile(r"[`*]+")


@dataclass(frozen=True)
class Cell:
    """The cell's text, as a span of its document, and its row, the cell's support."""

    text: Hit
    row: Hit


def asked_cell(question: str, evidence: Sequence[Hit], document_text: Callable[[str], str | None]) -> Cell | None:
    """The cell the question asks for in the row of one of its evidence sentences (best first); None when no
    sentence lies in a row whose first cell the question names, under a header one of whose other cells it names."""
    asked = {stem(t) for t in tokens(question)}
    folded = " ".join(tokens(question))
    for sentence in evidence:
        document = document_text(sentence.source)
        if document is None:
            continue
        start, end = line_around(document, sentence.start, sentence.end)
        row = document[start:end]
        if not is_row(row):
            continue
        row_cells = cells(row)
        header = _header(document, start)
        if header is None or len(row_cells) < 2 or len(cells(header)) != len(row_cells):
            continue
        key = " ".join(tokens(_MARKUP.sub(" ", row[row_cells[0][0]:row_cells[0][1]])))
        if not key or f" {key} " not in f" {folded} ":
            continue  # the question does not name this row
        named = [n for n, (a, b) in enumerate(cells(header)) if n
                 and {stem(t) for t in tokens(header[a:b])} & asked - {stem(t) for t in key.split()}]
        if len(named) != 1:
            continue  # no column, or several: the model reads the row
        a, b = row_cells[named[0]]
        text = row[a:b].strip("`* ")
        a += row[a:b].index(text)
        return Cell(_span(sentence, document, start + a, start + a + len(text)), _span(sentence, document, start, end))
    return None


def _header(document: str, row_start: int) -> str | None:
    """The header row of the table holding the row at `row_start`: the row above its separator row."""
    lines = document[:row_start].splitlines()
    for n in range(len(lines) - 1, 0, -1):
        if is_separator(lines[n]):
            return lines[n - 1] if is_row(lines[n - 1]) else None
        if not is_row(lines[n]):
            return None
    return None


def _span(sentence: Hit, document: str, start: int, end: int) -> Hit:
    return Hit(chunk_id=sentence.chunk_id, source=sentence.source, text=document[start:end], start=start, end=end,
               score=sentence.score, similarity=sentence.similarity, metadata=sentence.metadata)
