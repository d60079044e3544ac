"""Retrieval over an index directory: dense top-k, keyword (BM25) top-k, and hybrid by reciprocal-rank fusion."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from index.directory import IndexDirectory
from index.embedder import Embedder
from index.types import Hit

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[str, ...] = get_args(Mode)


def checked_mode(mode: str) -> Mode:
    """`mode` if it is a retrieval mode; a typo such as "hybird" raises, naming the modes."""
    if mode not in MODES:
        raise ValueError(f"unknown retrieval mode {mode!r}: expected one of {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = Σ 1 / (k + rank), rank from 1. Best first, ties by first seen."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


class Retriever:
    """Finds the chunks that best match a query. Thread-safe: the service calls it from worker threads."""

    def __init__(self, index: IndexDirectory, embedder: Embedder, mode: Mode = "hybrid", rrf_k: int = 60) -> None:
        if rrf_k < 1:
            raise ValueError(f"rrf_k must be at least 1, got {rrf_k}")
        self.index = index
        self.embedder = embedder
        self.mode = checked_mode(mode)
        self.rrf_k = rrf_k
        self._lock = threading.Lock()  # one SQLite connection and one FAISS index shared by threads

    @classmethod
    def from_settings(cls, index: IndexDirectory, embedder: Embedder, settings) -> "Retriever":
        """The retriever a `core.settings.Settings` configures (RAGQA_RETRIEVAL_MODE, RAGQA_RRF_K)."""
        return cls(index, embedder, settings.retrieval_mode, settings.rrf_k)

    def search(self, query: str, k: int, mode: Mode | None = None) -> list[Hit]:
        return self.search_by_vector(query, self.embedder.embed([query])[0], k, mode)

    def search_by_vector(self, query: str, query_vector: np.ndarray, k: int, mode: Mode | None = None) -> list[Hit]:
        """As `search`, with the query already embedded: (d,) float32, L2-normalised."""
        mode = checked_mode(mode) if mode else self.mode
        # Each list is widened before fusion so a chunk ranked low by one retriever can still surface.
        pool = max(k * 4, 20)
        with self._lock:
            dense = self.index.vectors.search(query_vector, pool if mode == "hybrid" else k)
            keyword = self.index.store.keyword_search(query, pool if mode == "hybrid" else k) if mode != "dense" else []
            if mode == "dense":
                ranked = dense[:k]
            elif mode == "keyword":
                ranked = keyword[:k]
            else:
                ranked = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]], self.rrf_k)[:k]
            similarity = dict(dense)
            unscored = [i for i, _ in ranked if i not in similarity]
            if unscored:  # keyword-only hits: cosine from their stored vectors, so every hit has one
                sims = self.index.vectors.vectors_of(unscored) @ query_vector  # (n,)
                similarity.update(zip(unscored, map(float, sims)))
            return self.index.store.hits([(i, float(score), similarity[i]) for i, score in ranked])



