"""A `VectorStore` in a Milvus collection, through `pymilvus`: a Milvus cluster (`http://…`) or milvus-lite (a file).

Schema: `id` INT64 primary key (the chunk id in the SQLite store) and `vector` FLOAT_VECTOR with the
embedder's dimension, inner-product metric on L2-normalised vectors (cosine). The SQLite store stays
the source of truth: the index directory reconciles the collection with it by id, as it does a FAISS file.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from index.errors import IndexMismatchError

log = logging.getLogger(__name__)

BATCH = 2000  # rows per insert or delete call


class MilvusVectorStore:
    """Chunk vectors in one Milvus collection; several API replicas can share it."""

    shared = True  # other processes write to it too: see IndexDirectory's reconciliation

    def __init__(self, uri: str, collection: str, dimension: int) -> None:
        from pymilvus import DataType, MilvusClient

        if "://" not in uri:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)  # milvus-lite: a local file
        self.uri, self.collection, self.dimension = uri, collection, dimension
        self.client = MilvusClient(uri)
        if self.client.has_collection(collection):
            recorded = next(f["params"].get("dim") for f in self.client.describe_collection(collection)["fields"]
                            if f["name"] == "vector")
            if int(recorded) != dimension:
                raise IndexMismatchError(f"Milvus collection {collection!r} at {uri} holds vectors of dimension "
                                         f"{recorded}, but the index has dimension {dimension}; set RAGQA_MILVUS_COLLECTION")
            self.client.load_collection(collection)
            return
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        index = self.client.prepare_index_params()
        index.add_index(field_name="vector", index_type="AUTOINDEX", metric_type="IP")
        self.client.create_collection(collection, schema=schema, index_params=index)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """ids: (n,) int64; vectors: (n, d) float32, L2-normalised. Upserts, so replaying an add is harmless."""
        vectors = np.asarray(vectors, dtype=np.float32)
        for start in range(0, len(ids), BATCH):
            rows = [{"id": int(i), "vector": v.tolist()}
                    for i, v in zip(ids[start:start + BATCH], vectors[start:start + BATCH])]
            self.client.upsert(self.collection, rows)

    def remove(self, ids: np.ndarray) -> None:
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), BATCH):
            self.client.delete(self.collection, ids=ids[start:start + BATCH])

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """query: (d,) float32 normalised → [(chunk_id, cosine)] best first."""
        hits = self.client.search(self.collection, [np.asarray(query, dtype=np.float32).tolist()], limit=k,
                                  output_fields=["id"], search_params={"metric_type": "IP"})[0]
        return [(int(h["id"]), float(h["distance"])) for h in hits]

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        if not ids:
            return np.zeros((0, self.dimension), dtype=np.float32)
        rows = {int(r["id"]): r["vector"] for r in self.client.get(self.collection, ids=[int(i) for i in ids],
                                                                      output_fields=["vector"])}
        missing = [0.0] * self.dimension  # removed by a writer since this reader's snapshot: no similarity
        return np.array([rows.get(int(i), missing) for i in ids], dtype=np.float32)

    def ids(self) -> set[int]:
        found: set[int] = set()
        iterator = self.client.query_iterator(self.collection, batch_size=10_000, filter="id >= 0", output_fields=["id"])
        while batch := iterator.next():
            found.update(int(r["id"]) for r in batch)
        iterator.close()
        return found

    def save(self, path: Path) -> None:
        """Milvus persists what it was given; flushing seals it so another client sees all of it."""
        self.client.flush(self.collection)

    def close(self) -> None:
        self.client.close()

    def __len__(self) -> int:
        return int(self.client.query(self.collection, filter="", output_fields=["count(*)"])[0]["count(*)"])
