"""The FAISS vector store: a file in the index directory, exact (flat) or approximate (IVF) by size.

The FAISS store is exact (a flat inner-product scan) while it is small, and becomes approximate
(an inverted-file index, IVF) once it holds `approximate_from` vectors, or always/never by setting.
IVF rather than HNSW because FAISS' IVF removes vectors in place (re-ingesting a changed document
removes its old chunks) where its HNSW cannot, and it trains in minutes at a million vectors on two
cores (`python -m bench.scale`). The layout is chosen when the store is saved or loaded.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from index.atomic import replace_atomically
from index.vectors.base import VectorStore  # noqa: F401  (the protocol FaissVectorStore satisfies)

log = logging.getLogger(__name__)

IndexKind = Literal["auto", "flat", "ivf"]


@dataclass(frozen=True)
class FaissOptions:
    """How the FAISS store lays out its index (from `RAGQA_VECTOR_INDEX`, `RAGQA_APPROXIMATE_FROM`, ...)."""

    kind: IndexKind = "auto"
    approximate_from: int = 100_000  # "auto": flat below this many vectors, IVF from here on
    ivf_nprobe: int = 32  # inverted lists scanned per query: recall against speed

    def wanted(self, count: int) -> Literal["flat", "ivf"]:
        if self.kind != "auto":
            return self.kind
        return "ivf" if count >= self.approximate_from else "flat"


def ivf_lists(count: int) -> int:
    """Inverted lists for `count` vectors: about √count, with ≥ 39 training points per list (FAISS' minimum)."""
    return max(1, min(int(math.sqrt(count)), count // 39))


class FaissVectorStore:
    """Inner-product search over L2-normalised vectors (cosine): exact (flat) or approximate (IVF)."""

    def __init__(self, dimension: int, index: faiss.Index | None = None, options: FaissOptions = FaissOptions()) -> None:
        self.dimension = dimension
        self.options = options
        self.index = index if index is not None else _flat(dimension)  # read_index returns the concrete type
        if isinstance(self.index, faiss.IndexIVF):
            self.index.nprobe = options.ivf_nprobe

    @classmethod
    def load(cls, path: Path, options: FaissOptions = FaissOptions()) -> "FaissVectorStore":
        store = cls(0, faiss.read_index(str(path)), options)
        store.dimension = store.index.d
        store.fit()  # the settings may have changed since it was saved
        return store

    def save(self, path: Path) -> None:
        self.fit()
        replace_atomically(path, lambda tmp: faiss.write_index(self.index, str(tmp)))

    @property
    def kind(self) -> Literal["flat", "ivf"]:
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    def fit(self) -> None:
        """Rebuild in the layout the options want for the current size (also when an IVF outgrew its lists)."""
        count = len(self)
        wanted = self.options.wanted(count)
        lists = ivf_lists(count)
        outgrown = wanted == self.kind == "ivf" and not lists / 4 <= self.index.nlist <= lists * 4
        if wanted == self.kind and not outgrown:
            return
        ids, vectors = self.all()
        if wanted == "flat" or count < 39:
            index = _flat(self.dimension)
        else:
            index = _ivf(vectors, lists, self.options.ivf_nprobe)
        if count:
            index.add_with_ids(vectors, ids)
        log.info("vector index rebuilt as %s for %d vectors", "flat" if isinstance(index, faiss.IndexIDMap2) else "ivf", count)
        self.index = index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """ids: (n,) int64; vectors: (n, d) float32, L2-normalised."""
        if len(ids):
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """query: (d,) float32 normalised → [(chunk_id, cosine)] best first."""
        if self.index.ntotal == 0:
            return []
        # One query gains nothing from OpenMP threads, and on a busy machine their hand-offs cost ~15 ms
        # (bench.scale). The setting is per calling thread, so index builds keep every core.
        faiss.omp_set_num_threads(1)
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """(len(ids), d) stored vectors, for scoring keyword hits by cosine too."""
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.index.reconstruct(int(i)) for i in ids])

    def ids(self) -> set[int]:
        return set(self.all(with_vectors=False)[0].tolist())

    def all(self, with_vectors: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held: ((n,) int64, (n, d) float32)."""
        if self.kind == "flat":
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            flat = faiss.downcast_index(self.index.index)  # a view: the IDMap2 owns it
            vectors = faiss.rev_swig_ptr(flat.get_xb(), len(ids) * self.dimension) if with_vectors else None
        else:
            lists = self.index.invlists
            sizes = [lists.list_size(i) for i in range(self.index.nlist)]
            ids = np.concatenate([faiss.rev_swig_ptr(lists.get_ids(i), n).copy() for i, n in enumerate(sizes) if n]
                                 or [np.zeros(0, dtype=np.int64)])
            vectors = (np.concatenate([faiss.rev_swig_ptr(lists.get_codes(i), n * self.dimension * 4).view(np.float32)
                                       for i, n in enumerate(sizes) if n] or [np.zeros(0, dtype=np.float32)])
                       if with_vectors else None)
        if not with_vectors:
            return ids, np.zeros((0, self.dimension), dtype=np.float32)
        return ids, np.array(vectors, dtype=np.float32).reshape(len(ids), self.dimension)

    def __len__(self) -> int:
        return int(self.index.ntotal)


def _flat(dimension: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def _ivf(sample: np.ndarray, lists: int, nprobe: int) -> faiss.IndexIVFFlat:
    """An IVF index whose lists are trained on (up to 256 points per list of) `sample`."""
    dimension = sample.shape[1]
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dimension), dimension, lists, faiss.METRIC_INNER_PRODUCT)
    if len(sample) > lists * 256:
        sample = sample[np.random.default_rng(0).choice(len(sample), lists * 256, replace=False)]
    index.train(np.ascontiguousarray(sample))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by chunk id
    index.nprobe = nprobe
    return index
