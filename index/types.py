"""Typed values that flow between ingest/, index/ and app/: chunks, documents, hits."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Chunk:
    """A span of a document's extracted text: `document_text[start:end] == text`."""

    text: str
    start: int
    end: int
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """A document as stored in the index (its text is the loader's extracted text)."""

    id: int
    source: str  # path relative to the ingested folder, POSIX separators
    content_hash: str
    size: int
    chunk_count: int
    ingested_at: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. `score` ranks (mode-dependent); `similarity` is cosine to the query."""

    chunk_id: int
    source: str
    text: str
    start: int
    end: int
    score: float
    similarity: float
    metadata: dict[str, Any] = field(default_factory=dict)
