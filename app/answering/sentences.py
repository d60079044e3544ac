"""Answer sentences: each with the citations it rests on and its verbatim support, verified before it is shown."""
from __future__ import annotations

from collections.abc import Sequence

from app.answering.support import is_supported
from app.schemas import Citation, Quote, Sentence, Support
from index.types import Hit


def support_of(span: Hit | Quote) -> Support:
    """A sentence-sized span of a document (an evidence sentence, or a quote) as support."""
    return Support(source=span.source, chunk_id=str(span.chunk_id), start=span.start, end=span.end, text=span.text)


def cited_as(support: Sequence[Support], citations: Sequence[Citation]) -> list[int]:
    """The 1-based positions in `citations` of the passages that hold each support span (or, for a sentence its
    passage ends inside and its document completes, the passage where it starts)."""
    numbers = []
    for span in support:
        holding = [n for n, c in enumerate(citations, start=1)
                   if c.source == span.source and c.start <= span.start and span.end <= c.end]
        starting = [n for n, c in enumerate(citations, start=1)
                    if c.source == span.source and c.start <= span.start < c.end]
        n = next((n for n in holding or starting if n not in numbers), None)
        if n is not None:
            numbers.append(n)
    return numbers


def sentence(text: str, support: Sequence[Support], citations: Sequence[Citation]) -> Sentence:
    return Sentence(text=text, citations=cited_as(support, citations), support=list(support))


def verified(sentences: Sequence[Sentence]) -> tuple[list[Sentence], int]:
    """The sentences whose support carries them, and how many were removed."""
    kept = [s for s in sentences if is_supported(s.text, [span.text for span in s.support])]
    return kept, len(sentences) - len(kept)


def with_markers(s: Sentence) -> str:
    """The sentence followed by its citation markers: "… in 1968. [2]"."""
    return s.text + "".join(f" [{n}]" for n in s.citations)


def joined(sentences: Sequence[Sentence]) -> str:
    """The answer text: the sentences in order, each with its `[n]` markers."""
    return " ".join(with_markers(s) for s in sentences)
