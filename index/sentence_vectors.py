"""Vectors of a chunk's sentences: the dense half of the hybrid second stage (index/retrieval.py).

A question is usually answered by one sentence, and a chunk's vector is an average over all of its
sentences: a vague or paraphrased question ("What goal do many of these protests have?") can be
closer to the one sentence it asks about than to its chunk. Ingest embeds each prose sentence of a
chunk on its own (hard-wrapped lines joined; at least MIN_WORDS words, so code lines, headings and
list fragments are left to the chunk's vector) and the store keeps them beside the chunk. The
retriever scores a candidate by its best sentence's cosine to the question, or by the chunk's own
cosine when it has no such sentence. bench/RESULTS.md (issue 15, session 9) has the measurements.
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
    sentences = (text[start:end] for start, end in sentence_spans(text, join_wrapped_lines=True))
    return [s for s in sentences if len(_WORD.findall(s)) >= MIN_WORDS]


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
