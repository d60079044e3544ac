"""Sentence-aware chunking bounded by the embedder's word-pieces, with overlap and exact offsets.

Text is cut into segments at sentence ends and line breaks; a segment longer than the budget is
cut at word-piece boundaries. Segments are packed greedily into chunks of at most `max_tokens`
word-pieces, and the next chunk starts with the last whole segments worth at most
`overlap_tokens`. Every chunk is a slice of the input: `text[chunk.start:chunk.end] == chunk.text`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.types import Chunk

# A boundary is whitespace after sentence-final punctuation (with any closing quote or bracket),
# or a line break. Boundaries are only ever whitespace, so the word-pieces of a chunk are exactly
# the sum of its segments'. Segments are what lies between boundaries.
_BOUNDARY = re.compile(r"(?:(?<=[.!?…。！？])|(?<=[.!?…][\"'”’)\]]))\s+|\n+")
# For reading rather than packing: a single line break inside a paragraph is a soft wrap, not a
# boundary, unless the line ends with a colon or the next one starts a heading, list item, table
# row, quote or code fence.
_PROSE_BOUNDARY = re.compile(
    r"(?:(?<=[.!?…。！？])|(?<=[.!?…][\"'”’)\]]))\s+|(?<=:)[ \t]*\n\s*|\n[ \t]*\n\s*|\n(?=[ \t]*(?:[#>|*+-]\s|\d+[.)]\s|```))"
)
# ... and a heading, table row or code fence ends at its own line end.
_STRUCTURE_LINE_END = re.compile(r"(?m)^[ \t]*(?:#|\||```)[^\n]*(\n)")


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    tokens: int


class Chunker:
    """Splits text into token-bounded chunks. `tokenizer` is a Hugging Face fast tokenizer."""

    def __init__(self, tokenizer, max_tokens: int = 192, overlap_tokens: int = 32) -> None:
        if max_tokens < 8:
            raise ValueError(f"max_tokens must be at least 8, got {max_tokens}")
        if not 0 <= overlap_tokens < max_tokens:
            raise ValueError(f"overlap_tokens must be in [0, max_tokens), got {overlap_tokens}")
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    def split(self, text: str) -> list[Chunk]:
        segments = self._segments(text)
        chunks: list[Chunk] = []
        i = 0
        while i < len(segments):
            j, total = i, 0
            while j < len(segments) and total + segments[j].tokens <= self.max_tokens:
                total += segments[j].tokens
                j += 1
            start, end = segments[i].start, segments[j - 1].end
            chunks.append(Chunk(text=text[start:end], start=start, end=end))
            if j == len(segments):
                break
            # Step back over whole segments for the overlap, but always move forward.
            k, overlap = j, 0
            while k - 1 > i and overlap + segments[k - 1].tokens <= self.overlap_tokens:
                overlap += segments[k - 1].tokens
                k -= 1
            i = k
        return chunks

    def _segments(self, text: str) -> list[_Segment]:
        spans = sentence_spans(text)
        if not spans:
            return []
        encoded = self.tokenizer([text[s:e] for s, e in spans], add_special_tokens=False,
                                 return_offsets_mapping=True)
        segments = []
        for (s, e), offsets in zip(spans, encoded["offset_mapping"]):
            if len(offsets) <= self.max_tokens:
                segments.append(_Segment(s, e, max(len(offsets), 1)))
                continue
            # A sentence longer than a chunk: cut it at word-piece boundaries. A little headroom,
            # since a word cut mid-way can re-tokenise into one more piece on its own.
            step = self.max_tokens - 4
            for first in range(0, len(offsets), step):
                window = offsets[first:first + step]
                piece_start, piece_end = _trim(text, s + window[0][0], s + window[-1][1])
                if piece_end > piece_start:
                    segments.append(_Segment(piece_start, piece_end, len(window)))
        return segments


def sentence_spans(text: str, join_wrapped_lines: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed, in order.

    By default every line break also ends a segment (fine-grained, for packing chunks); with
    `join_wrapped_lines` a sentence hard-wrapped over several lines stays whole (for quoting).
    """
    if join_wrapped_lines:
        cuts = sorted([m.span() for m in _PROSE_BOUNDARY.finditer(text)]
                      + [m.span(1) for m in _STRUCTURE_LINE_END.finditer(text)])
    else:
        cuts = [m.span() for m in _BOUNDARY.finditer(text)]
    spans, cursor = [], 0
    for start, end in cuts:
        if start < cursor:  # overlaps the previous cut
            continue
        spans.append(_trim(text, cursor, start))
        cursor = end
    spans.append(_trim(text, cursor, len(text)))
    return [(s, e) for s, e in spans if e > s]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
