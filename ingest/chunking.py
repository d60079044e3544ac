"""Sentence-aware chunking bounded by the embedder's word-pieces, with overlap and exact offsets.

Text is cut into segments at sentence ends and line breaks; a segment longer than the budget is
cut at word-piece boundaries. Segments are packed greedily into chunks of at most `max_tokens`
word-pieces, and the next chunk starts with the last whole segments worth at most
`overlap_tokens`. Paragraphs (blank-line separated) are kept whole where they fit: a chunk already
a quarter full ends at a paragraph break rather than take only the start of the next paragraph,
and nothing is repeated across such a break. Every chunk is a slice of the input:
`text[chunk.start:chunk.end] == chunk.text`. A paragraph too long for one chunk is cut into chunks
of about equal size (a 300-piece paragraph into two of ~166 with overlap, not 254 and a scrap of 78).
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from core.text import sentence_spans, trim_span
from index.types import Chunk

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


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
        paragraph = _paragraph_of(text, segments)
        # Word-pieces from each segment to the end of its paragraph.
        rest = [0] * len(segments)
        for j in reversed(range(len(segments))):
            same = j + 1 < len(segments) and paragraph[j + 1] == paragraph[j]
            rest[j] = segments[j].tokens + (rest[j + 1] if same else 0)
        chunks: list[Chunk] = []
        i = 0
        while i < len(segments):
            j, total = i, 0
            budget = self._budget(rest[i])
            while j < len(segments) and total + segments[j].tokens <= (budget if j > i else self.max_tokens):
                if j > i and paragraph[j] != paragraph[j - 1]:
                    if total + rest[j] > self.max_tokens and total >= self.max_tokens // 4:
                        break  # the next paragraph would not fit whole: end this chunk at the break
                    # A short paragraph (a heading) goes on into this one: the two are cut as one paragraph.
                    budget = self._budget(total + rest[j])
                total += segments[j].tokens
                j += 1
            start, end = segments[i].start, segments[j - 1].end
            chunks.append(Chunk(text=text[start:end], start=start, end=end))
            if j == len(segments):
                break
            # Step back over whole segments of the same paragraph for the overlap, but always move forward.
            k, overlap = j, 0
            while (k - 1 > i and paragraph[k - 1] == paragraph[j]
                   and overlap + segments[k - 1].tokens <= self.overlap_tokens):
                overlap += segments[k - 1].tokens
                k -= 1
            i = k
        return chunks

    def _budget(self, rest: int) -> int:
        """Word-pieces for a chunk starting where `rest` of its paragraph is left: a paragraph too long for one
        chunk is cut into the fewest chunks that hold it (overlap included), of about equal size, so its last
        sentences are not left as a scrap beside the next paragraph's start."""
        if rest <= self.max_tokens:
            return self.max_tokens
        step = self.max_tokens - self.overlap_tokens
        pieces = -(-(rest - self.overlap_tokens) // step)  # ceil
        return min(self.max_tokens, -(-(rest + (pieces - 1) * self.overlap_tokens) // pieces))

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
                piece_start, piece_end = trim_span(text, s + window[0][0], s + window[-1][1])
                if piece_end > piece_start:
                    segments.append(_Segment(piece_start, piece_end, len(window)))
        return segments


def _paragraph_of(text: str, segments: list[_Segment]) -> list[int]:
    """The paragraph number of each segment (paragraphs are separated by blank lines)."""
    breaks = [m.end() for m in _PARAGRAPH_BREAK.finditer(text)]
    return [bisect.bisect_right(breaks, segment.start) for segment in segments]
