"""`python -m bench.scale`: index build time, memory and search latency on synthetic corpora of 10k–1M chunks.

Each size is built and then queried in two fresh child processes, through the project's own
`IndexDirectory` (SQLite + FTS5 store, vector store as the settings choose) and `Retriever`.
Chunks are synthetic: text drawn from a Zipf-distributed vocabulary whose most frequent words are
real English glue words, and unit vectors clustered by topic and document the way sentence
embeddings are (chunks of one document are closer to each other than to the rest). Queries are a
few words of a chunk plus a vector near it. Reported per size: build time, bytes per chunk (the
reader's resident memory and the files on disk), dense / keyword / hybrid p50 and p99 latency
(query already embedded; the embedding's own time is reported once), and recall@10 of the
approximate dense search against exact search over the same vectors.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from core.environment import use_offline_models
from core.settings import Settings

DIMENSION = 384  # all-MiniLM-L6-v2's
CHUNKS_PER_DOCUMENT = 50
WORDS_PER_CHUNK = 120  # ≈ 160 word-pieces: the size ingest's chunks have
VOCABULARY = 50_000
GLUE = """the of and to a in is was for on that as with by it from at his an are were which be this or has had
not but its also their first after one new two they been have who he all other more into most when than
during only may can would there some time these over such between under about many while where both""".split()
QUERIES = 200
TOP_K = 10


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# --- the synthetic corpus ------------------------------------------------------------------------
def vocabulary(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Words (glue words first) and their Zipf probabilities (exponent 1.07, as English)."""
    consonants, vowels = list("bcdfghjklmnprstvz"), list("aeiou")
    words, seen = list(GLUE), set(GLUE)
    while len(words) < VOCABULARY:
        syllables = rng.integers(2, 5)
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))
        if word not in seen:
            seen.add(word)
            words.append(word)
    weights = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.07
    return np.array(words), weights / weights.sum()


def synthetic_documents(count: int, seed: int = 0):
    """Yields (source, chunk texts, (n, 384) float32 unit vectors) for `count` chunks in documents of 50."""
    rng = np.random.default_rng(seed)
    words, probabilities = vocabulary(rng)
    topics = rng.standard_normal((max(count // 5000, 4), DIMENSION)).astype(np.float32)
    for number, first in enumerate(range(0, count, CHUNKS_PER_DOCUMENT)):
        n = min(CHUNKS_PER_DOCUMENT, count - first)
        # Document centre near a topic; chunks near their document (cosine ≈ 0.6 between chunks of one document).
        centre = topics[rng.integers(len(topics))] / np.sqrt(DIMENSION) + rng.standard_normal(DIMENSION) * 0.05
        vectors = centre + rng.standard_normal((n, DIMENSION)).astype(np.float32) * 0.04
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        # Each document also favours a few words of its own, as real documents repeat their subject.
        own = words[rng.integers(len(GLUE), VOCABULARY, 8)]
        drawn = words[rng.choice(VOCABULARY, size=(n, WORDS_PER_CHUNK), p=probabilities)]
        drawn[:, rng.integers(0, WORDS_PER_CHUNK, 6)] = rng.choice(own, size=(n, 6))
        yield f"doc{number:07d}.txt", [" ".join(row) for row in drawn], vectors


# --- the two child processes -----------------------------------------------------------------------
def build(path: str, count: int) -> dict:
    """Write `count` synthetic chunks into a new index at `path` through `IndexDirectory`; time it."""
    from index.directory import IndexDirectory
    from index.types import Chunk

    settings = Settings()
    index = IndexDirectory.open_for_writing(Path(path), "synthetic-384", DIMENSION)
    store_seconds = generate_seconds = 0.0
    generated = synthetic_documents(count)
    while True:
        started = time.perf_counter()
        document = next(generated, None)
        generate_seconds += time.perf_counter() - started
        if document is None:
            break
        source, texts, vectors = document
        chunks, offset = [], 0
        for text in texts:
            chunks.append(Chunk(text, offset, offset + len(text)))
            offset += len(text) + 1
        started = time.perf_counter()
        index.write_document(source, source, offset, " ".join(texts), {}, chunks, vectors)
        store_seconds += time.perf_counter() - started
    started = time.perf_counter()
    index.flush()
    flush_seconds = time.perf_counter() - started
    layout = getattr(index.vectors, "kind", settings.vector_store)
    index.close()
    return {"store_seconds": store_seconds, "flush_seconds": flush_seconds, "generate_seconds": generate_seconds,
            "layout": layout, "disk_mib": sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 2**20}


def query(path: str, count: int, embed: bool) -> dict:
    """Open the index as the service does, then time dense / keyword / hybrid searches and check recall."""
    import faiss

    from core.text import STOPWORDS
    from index.directory import IndexDirectory
    from index.retrieval import Retriever

    rss_before = _rss_mib()
    started = time.perf_counter()
    index = IndexDirectory.open(Path(path))
    open_seconds = time.perf_counter() - started
    rss_open = _rss_mib()
    rng = np.random.default_rng(1)
    targets = sorted(int(i) for i in rng.choice(sorted(index.store.chunk_ids()), QUERIES, replace=False))
    texts = {h.chunk_id: h.text for h in index.store.hits([(i, 0.0, 0.0) for i in targets])}
    stored = index.store.embeddings(targets)
    queries = []
    for i, vector in zip(targets, stored):
        content = [w for w in texts[i].split() if w not in STOPWORDS]
        words = " ".join(rng.choice(content, 4, replace=False))
        noisy = vector + rng.standard_normal(DIMENSION).astype(np.float32) * 0.04
        queries.append((f"what is {words}", (noisy / np.linalg.norm(noisy)).astype(np.float32)))
    retriever = Retriever(index, embedder=None)  # queries come embedded

    def timed(run) -> list[float]:
        times = []
        for text, vector in queries:
            started = time.perf_counter()
            run(text, vector)
            times.append((time.perf_counter() - started) * 1000)
        return times

    result = {"open_seconds": open_seconds, "reader_rss_mib": rss_open - rss_before,
              "layout": getattr(index.vectors, "kind", "milvus")}
    for mode in ("dense", "keyword", "hybrid"):
        result[mode] = percentiles(timed(lambda text, vector: retriever.search_by_vector(text, vector, TOP_K, mode)))
    # Raw vector search alone (the dense figure above also reads the hits' text from SQLite).
    result["vector_search"] = percentiles(timed(lambda _text, vector: index.vectors.search(vector, TOP_K)))
    if hasattr(index.vectors, "all"):
        ids, vectors = index.vectors.all()
        exact = faiss.IndexFlatIP(DIMENSION)
        exact.add(vectors)
        matrix = np.stack([v for _, v in queries])
        _, truth = exact.search(matrix, TOP_K)
        truth_ids = ids[truth]
        found = [{i for i, _ in index.vectors.search(v, TOP_K)} for v in matrix]
        result["recall_at_10"] = float(np.mean([len(f & set(t)) / TOP_K for f, t in zip(found, truth_ids)]))
        del exact, vectors
    if embed:
        from index.embedder import Embedder

        embedder = Embedder.from_settings(Settings())
        embedder.embed(["warm-up"])
        result["embed_query"] = percentiles(timed(lambda text, _vector: embedder.embed([text])))
    index.close()
    return result


def percentiles(times_ms: list[float]) -> dict:
    return {"p50": float(np.percentile(times_ms, 50)), "p99": float(np.percentile(times_ms, 99))}


def in_child(function, *args) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def measure(count: int, embed: bool, keep: Path | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="ragqa-bench-scale-") as tmp:
        path = str((keep or Path(tmp)) / f"index-{count}")
        if keep and (Path(path) / "build.json").is_file():  # built by an earlier run with --keep
            built = json.loads((Path(path) / "build.json").read_text())
        else:
            built = in_child(build, path, count)
            if keep:
                (Path(path) / "build.json").write_text(json.dumps(built))
        return {"chunks": count, "build": built, "query": in_child(query, path, count, embed)}


# --- reporting -----------------------------------------------------------------------------------
def table(rows: list[dict]) -> str:
    lines = ["| chunks | layout | build s (store + vectors) | reader RSS B/chunk | disk B/chunk | "
             "dense p50 / p99 ms | keyword p50 / p99 ms | hybrid p50 / p99 ms | vector search p50 ms | "
             "recall@10 vs exact |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        b, q, n = r["build"], r["query"], r["chunks"]
        recall = f"{q['recall_at_10']:.3f}" if "recall_at_10" in q else "—"
        lines.append(
            f"| {n:,} | {q['layout']} | {b['store_seconds'] + b['flush_seconds']:.0f} "
            f"({b['store_seconds']:.0f} + {b['flush_seconds']:.0f}) | {q['reader_rss_mib'] * 2**20 / n:,.0f} | "
            f"{b['disk_mib'] * 2**20 / n:,.0f} | "
            + " | ".join(f"{q[m]['p50']:.1f} / {q[m]['p99']:.1f}" for m in ("dense", "keyword", "hybrid"))
            + f" | {q['vector_search']['p50']:.2f} | {recall} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="chunks per corpus (default %(default)s)")
    parser.add_argument("--keep", type=Path,
                        help="build the indexes in this folder and keep them; an index kept there is reused (default: temporary)")
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON to this file")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes comma-separated integers")
    if min(args.sizes) < CHUNKS_PER_DOCUMENT * 10:
        parser.error(f"each size must be at least {CHUNKS_PER_DOCUMENT * 10} chunks")
    return args


def main(argv: list[str] | None = None) -> int:
    use_offline_models()
    args = parse_args(argv)
    settings = Settings()
    rows = []
    for n, count in enumerate(args.sizes):
        print(f"building and querying {count:,} chunks ...", file=sys.stderr)
        rows.append(measure(count, embed=n == 0, keep=args.keep))
        print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"## Scale: synthetic corpora (vector store {settings.vector_store}, layout {settings.vector_index}, "
          f"approximate from {settings.approximate_from:,} chunks, nprobe {settings.ivf_nprobe})\n")
    print(table(rows))
    embed = rows[0]["query"]["embed_query"]
    print(f"\nEmbedding a query (all-MiniLM-L6-v2, torch): p50 {embed['p50']:.1f} ms, p99 {embed['p99']:.1f} ms.")
    if args.json:
        args.json.write_text(json.dumps({"settings": settings.model_dump(mode="json"), "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
