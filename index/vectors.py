"""Vector stores keyed by chunk id: the `VectorStore` protocol and its FAISS implementation."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from index.atomic import replace_atomically


class VectorStore(Protocol):
    """What retrieval and ingest need from a vector backend."""

    dimension: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray) -> None: ...
    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...
    def vectors_of(self, ids: list[int]) -> np.ndarray: ...
    def ids(self) -> set[int]: ...
    def __len__(self) -> int: ...


class FaissVectorStore:
    """Exact inner-product search over L2-normalised vectors (cosine), in a FAISS `IndexIDMap2`."""

    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @classmethod
    def load(cls, path: Path) -> "FaissVectorStore":
        index = faiss.read_index(str(path))
        return cls(index.d, index)

    def save(self, path: Path) -> None:
        replace_atomically(path, lambda tmp: faiss.write_index(self.index, str(tmp)))

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
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i != -1]

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        """(len(ids), d) stored vectors, for scoring keyword hits by cosine too."""
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.index.reconstruct(int(i)) for i in ids])

    def ids(self) -> set[int]:
        return set(faiss.vector_to_array(self.index.id_map).tolist())

    def __len__(self) -> int:
        return int(self.index.ntotal)
