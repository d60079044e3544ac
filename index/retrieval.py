"""Retrieval over an index directory: dense top-k, keyword (BM25) top-k, and two hybrids of them.

`hybrid` takes the dense and keyword candidates together and ranks them by cosine similarity plus
how much of the query's rare words their best sentence holds (index/sentence_match.py) and, where
the index has them, their best sentence's cosine (index/sentence_vectors.py); `rrf` is
the earlier hybrid, reciprocal-rank fusion of the two rankings. bench/RESULTS.md (issue 15) compares them.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal, get_args

import numpy as np

from index.directory import IndexDirectory
from index.embedder import Embedder
from index.sentence_match import query_weights, sentence_shares
from index.sentence_vectors import best_sentence_similarity
from index.types import Hit

Mode = Literal["hybrid", "rrf", "dense", "keyword"]
MODES: tuple[str, ...] = get_args(Mode)
# hybrid score = cosine + ONE_SENTENCE × (query weight held by the best sentence) + TWO_SENTENCES × (by
# the best two consecutive ones): chosen on half of the dev articles, held on the other half (RESULTS.md).
ONE_SENTENCE, TWO_SENTENCES = 0.5, 0.25
# ... + SENTENCE_VECTOR × (the best cosine of a candidate's sentences embedded alone), when the index has them;
# 0.5 and 0.75 were best on half A (RESULTS.md, session 9), the smaller is kept.
SENTENCE_VECTOR = 0.5
# Candidates each retriever gives the hybrid ranking (at least k): 10, 20 and 40 ranked alike on dev.
HYBRID_CANDIDATES = 10


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
        return self.search_by_vector(query, self.embedder.embed_queries([query])[0], k, mode)

    def search_by_vector(self, query: str, query_vector: np.ndarray, k: int, mode: Mode | None = None) -> list[Hit]:
        """As `search`, with the query already embedded (`Embedder.embed_queries`): (d,) float32, L2-normalised."""
        mode = checked_mode(mode) if mode else self.mode
        with self._lock:
            if mode == "dense":
                return self.index.store.hits([(i, score, score) for i, score in self.index.vectors.search(query_vector, k)])
            if mode == "keyword":
                return self._with_similarity(self.index.store.keyword_search(query, k), query_vector)
            if mode == "rrf":
                # Each list is widened before fusion so a chunk ranked low by one retriever can still surface.
                pool = max(k * 4, 20)
                dense = self.index.vectors.search(query_vector, pool)
                keyword = self.index.store.keyword_search(query, pool)
                fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in keyword]], self.rrf_k)[:k]
                return self._with_similarity(fused, query_vector, dict(dense))
            return self._hybrid(query, query_vector, k)

    def rare_word_weights(self, query: str) -> dict[str, float]:
        """{stem: IDF} of the query's words in this index (stopwords dropped, misspellings respelled): how much a
        text holding each word says about the query (index/sentence_match.py)."""
        with self._lock:
            store = self.index.store
            return query_weights(store.word_frequencies(query), store.chunk_total())

    def hits_of(self, chunk_ids: Sequence[int], query_vector: np.ndarray) -> list[Hit]:
        """Hits of chunks the search did not rank, in the order given: each scored, as dense mode ranks, by its
        cosine similarity to the query (`query_vector`, from `Embedder.embed_queries`), which is also its similarity."""
        with self._lock:
            hits = self._with_similarity([(i, 0.0) for i in chunk_ids], query_vector)
        return [replace(hit, score=hit.similarity) for hit in hits]

    def _hybrid(self, query: str, query_vector: np.ndarray, k: int) -> list[Hit]:
        """Dense and keyword candidates ranked by cosine plus their best sentences' share of the query's rare words."""
        pool = max(k, HYBRID_CANDIDATES)
        dense = self.index.vectors.search(query_vector, pool)
        keyword = self.index.store.keyword_matches(query, pool)
        candidates = dict.fromkeys([i for i, _ in dense] + [i for i, _ in keyword.ranked])  # dense order first
        hits = self._with_similarity([(i, 0.0) for i in candidates], query_vector, dict(dense))
        shares = sentence_shares(query_weights(keyword.document_frequency, keyword.chunks), [h.text for h in hits])
        best = self._best_sentence_similarities(hits, query_vector)
        scored = [replace(hit, score=round(hit.similarity + ONE_SENTENCE * one + TWO_SENTENCES * two
                                           + SENTENCE_VECTOR * sentence, 6))
                  for hit, (one, two), sentence in zip(hits, shares, best)]
        return sorted(scored, key=lambda hit: -hit.score)[:k]  # stable: ties keep the dense order

    def _best_sentence_similarities(self, hits: Sequence[Hit], query_vector: np.ndarray) -> list[float]:
        """Per hit, its best sentence's cosine to the query; all 0 for an index without sentence vectors."""
        store = self.index.store
        if not store.has_sentence_vectors():
            return [0.0] * len(hits)
        vectors = store.sentence_vectors([hit.chunk_id for hit in hits], len(query_vector))
        return [best_sentence_similarity(vectors.get(hit.chunk_id), query_vector, hit.similarity) for hit in hits]

    def _with_similarity(self, ranked: Sequence[tuple[int, float]], query_vector: np.ndarray,
                         similarity: dict[int, float] | None = None) -> list[Hit]:
        """Hits of ranked (chunk_id, score) pairs, each with its cosine similarity to the query."""
        similarity = dict(similarity or {})
        unscored = [i for i, _ in ranked if i not in similarity]
        if unscored:  # hits the dense search did not return: cosine from their stored vectors
            sims = self.index.vectors.vectors_of(unscored) @ query_vector  # (n,)
            similarity.update(zip(unscored, map(float, sims)))
        return self.index.store.hits([(i, float(score), similarity[i]) for i, score in ranked])
