"""Vectors of a chunk's sentences: the dense half of the hybrid second stage (index/retrieval.py).

A question is usually answered by one sentence, and a chunk's vector is an average over all of its
sentences: a vague or paraphrased question ("What goal do many of these protests have?") can be
closer to the one sentence it asks about than to its chunk. Ingest embeds each prose sentence of a
chunk on its own (hard-wrapped lines joined; at least MIN_WORDS words, so code lines, headings and
list fragments are left to the chunk's vector) and the store keeps them beside the chunk. The
retriever scores a candidate by its best sentence's cosine to the question, or by the chunk's own
cosine when it has no such sentence. bench/RESULTS.md (issue 15, sessions 9 and 10) has the measurements.

The chunk's own vector comes from the same pass (`pieces_to_embed`, `chunk_vector`): its prose
sentences and the rest of its lines are embedded as separate pieces, and the chunk's vector is their
mean weighted by length, so ingest embeds each word-piece once instead of twice.
"""
from __future__ import annotations

import re

import numpy as np

from core.text import sentence_spans

# Sentences of fewer words are not embedded: on the CPython docs this leaves out half of the sentences
# (code lines, headings) and a quarter of the word-pieces, and changed no dev question's rank.
MIN_WORDS = 8
_WORD = re.compile(r"[^\W\d_]{2,}")  # a word of two letters or more, in any script


def sentences_to_embed(text: str) -> list[str]:
    """The sentences of a chunk's text that get a vector of their own, in order."""
    return pieces_to_embed(text)[0]


def pieces_to_embed(text: str) -> tuple[list[str], str]:
    """A chunk's text as ingest embeds it, piece by piece: its prose sentences (`sentences_to_embed`), and the
    rest of its sentences and lines (headings, code, list fragments) joined as one more piece ("" if none)."""
    sentences, rest = [], []
    for start, end in sentence_spans(text, join_wrapped_lines=True):
        sentence = text[start:end]
        (sentences if len(_WORD.findall(sentence)) >= MIN_WORDS else rest).append(sentence)
    return sentences, "\n".join(rest)


def chunk_vector(piece_vectors: np.ndarray, piece_lengths: list[int]) -> np.ndarray:
    """A chunk's unit vector from its pieces' (`pieces_to_embed`): their mean, each weighted by its length in
    characters (as mean pooling weighs each word-piece alike), normalised."""
    mean = np.asarray(piece_lengths, dtype=np.float32) @ piece_vectors
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def best_sentence_similarity(sentence_vectors: np.ndarray | None, query_vector: np.ndarray,
                             chunk_similarity: float) -> float:
    """The best cosine of a chunk's sentences to the query; the chunk's own if it has no sentence vectors."""
    if sentence_vectors is None or not len(sentence_vectors):
        return chunk_similarity
    return float((sentence_vectors @ query_vector).max())


def to_bytes(vectors: np.ndarray) -> bytes:
    """(n, d) float vectors as stored: float16 (a cosine moves by < 1e-3; half the bytes of float32)."""
    return np.asarray(vectors, dtype=np.float16).tobytes()


def from_bytes(data: bytes, dimension: int) -> np.ndarray:
    """The (n, d) float32 vectors `to_bytes` stored (n may be 0)."""
    return np.frombuffer(data, dtype=np.float16).reshape(-1, dimension).astype(np.float32)
