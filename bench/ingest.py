"""`python -m bench.ingest [FOLDER]`: ingestion throughput and memory, against `SentenceTransformer.encode` and Haystack.

Each measurement runs in a fresh child process. The child ingests FOLDER with the project's own
pipeline (load, chunk, embed, store) into a temporary index, then times the reference, the torch
`SentenceTransformer.encode` of exactly the chunk texts the pipeline produced, with the same batch
size, in the same process. The figure is the ratio of the two rates (chunks per second). Peak RSS
is the child's high-water mark while ingesting (read before the reference runs). `--growth FOLDER`
repeats the torch run on growing subsets of a second folder, to show how memory grows with its size.
`--peer` ingests FOLDER with ragqa's default settings and with Haystack 2 (its HTML and text
converters, 200-word splitter and sentence-transformers embedder on torch; `bench/peer_haystack.py`),
each in a fresh process, in alternating order, and reports files, chunks, characters, wall time and
peak RSS of both: the ratio is Haystack's wall time over ragqa's for the same folder.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.peer_haystack import available as peer_available
from bench.peer_haystack import peer_files
from core.environment import use_offline_models
from core.settings import Settings

REPO = Path(__file__).resolve().parent.parent
XQUAD_ARTICLES = REPO.parent / "shared" / "data" / "xquad-en" / "articles"
PYTHON_DOCS = Path("/usr/share/doc/python3.11/html")
GROWTH_SIZES = (50, 100, 200, 400)
PEER_BATCH_SIZE = 32  # Haystack's own default for SentenceTransformersDocumentEmbedder  # files of the --growth folder per subset


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _peak_rss_of(pid: int | None) -> float:
    """Another process's high-water mark (Linux VmHWM), 0 when there is none."""
    try:
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0.0)


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def answer_recall(index, embedder, questions_file: str, k: int = 5) -> float:
    """Share of the questions whose top-k hybrid hits hold a gold answer (bench.quality's measure)."""
    from bench.quality import holds_gold
    from bench.squad import load_questions
    from index.retrieval import Retriever

    retriever = Retriever(index, embedder)
    questions = load_questions(Path(questions_file))
    return sum(any(holds_gold(h.text, q.answers) for h in retriever.search(q.question, k)) for q in questions) / len(questions)


def measure(folder: str, backend: str, rounds: int, questions: str | None = None) -> dict:
    """In a child process: ingest `folder` with `backend` and time the torch reference, `rounds` times.

    Rounds alternate which of the two runs first, so a machine that slows down or speeds up during
    the run penalises both alike; the ratio reported is the median of the rounds' ratios.
    """
    from sentence_transformers import SentenceTransformer

    from index.directory import IndexDirectory
    from index.embedder import Embedder, resolve_embedding_model
    from ingest.pipeline import IngestPipeline

    # The backend measured embeds the documents too (not RAGQA_DOCUMENT_EMBEDDING_BACKEND's int8 copy).
    settings = Settings().model_copy(update={"embedding_backend": backend, "document_embedding_backend": "index"})
    embedder = Embedder.from_settings(settings)
    embedder.embed(["warm-up: the first call pays for lazy initialisation"] * 8)
    rss_before = _rss_mib()
    result: dict = {"backend": backend, "rss_before_mib": rss_before, "rounds": []}
    reference = None

    def ingest() -> tuple[float, list[str]]:
        with tempfile.TemporaryDirectory(prefix="ragqa-bench-ingest-") as tmp:
            index = IndexDirectory.open_for_writing(Path(tmp) / "index", embedder.name, embedder.dimension)
            pipeline = IngestPipeline.from_settings(index, embedder, settings)
            started = time.perf_counter()
            report = pipeline.run(Path(folder))
            seconds = time.perf_counter() - started
            if "peak_rss_mib" not in result:  # the first ingest, before any reference model ran
                result["peak_rss_mib"] = _peak_rss_mib()
                result["files"] = report.readable
                result["index_mib"] = sum(p.stat().st_size for p in (Path(tmp) / "index").iterdir()) / 2**20
                if questions:
                    result["answer_recall_at_5"] = answer_recall(index, embedder, questions)
            texts = [r[0] for r in index.store.db.execute("SELECT text FROM chunks ORDER BY id")]
            index.close()
        return seconds, texts

    def encode(texts: list[str]) -> float:
        started = time.perf_counter()
        reference.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True,
                         convert_to_numpy=True, show_progress_bar=False)
        return time.perf_counter() - started

    seconds, texts = ingest()
    result["chunks"] = len(texts)
    result["text_mib"] = sum(len(t.encode()) for t in texts) / 2**20
    if rounds:
        if backend == "torch":
            reference = embedder.model
        else:
            reference = SentenceTransformer(str(resolve_embedding_model(settings.embedding_model)), device="cpu")
            reference.encode(["warm-up"] * 8, batch_size=settings.embedding_batch_size)
        result["rounds"].append({"seconds": seconds, "reference_seconds": encode(texts)})
        for n in range(1, rounds):
            if n % 2:
                reference_seconds = encode(texts)
                seconds, _ = ingest()
            else:
                seconds, _ = ingest()
                reference_seconds = encode(texts)
            result["rounds"].append({"seconds": seconds, "reference_seconds": reference_seconds})
        result["ratio"] = statistics.median(r["reference_seconds"] / r["seconds"] for r in result["rounds"])
        result["seconds"] = statistics.median(r["seconds"] for r in result["rounds"])
        result["reference_seconds"] = statistics.median(r["reference_seconds"] for r in result["rounds"])
    return result


def measure_ragqa(folder: str, document_backend: str | None = None, sentence_vectors: bool | None = None) -> dict:
    """In a child process: ingest `folder` with the settings (and this RAGQA_DOCUMENT_EMBEDDING_BACKEND, if
    given); files, chunks, characters, time, memory.

    The embedder is loaded and warmed up before the clock starts, as the peer's is. Peak RSS adds the
    reader process's peak (files are parsed there) to this process's: an upper bound of the two together.
    (Not RUSAGE_CHILDREN: a spawned child's figure counts the parent's pages it had until its exec.)
    """
    from index.directory import IndexDirectory
    from index.embedder import Embedder
    from ingest.pipeline import IngestPipeline
    from ingest.sandbox import reader_pid, stop_reader

    settings = Settings()
    if document_backend:
        settings = settings.model_copy(update={"document_embedding_backend": document_backend})
    if sentence_vectors is not None:
        settings = settings.model_copy(update={"sentence_vectors": sentence_vectors})
    embedder = Embedder.from_settings(settings)
    with tempfile.TemporaryDirectory(prefix="ragqa-bench-ingest-") as tmp:
        index = IndexDirectory.open_for_writing(Path(tmp) / "index", embedder.name, embedder.dimension)
        pipeline = IngestPipeline.from_settings(index, embedder, settings)
        pipeline.embedder.embed(["warm-up: the first call pays for lazy initialisation"] * 8)
        started = time.perf_counter()
        report = pipeline.run(Path(folder))
        seconds = time.perf_counter() - started
        reader_peak = _peak_rss_of(reader_pid())
        stop_reader()
        characters = index.store.db.execute("SELECT COALESCE(SUM(LENGTH(text)), 0) FROM documents").fetchone()[0]
        index.close()
    return {"system": "ragqa", "files": report.readable, "skipped": len(report.skipped),
            "duplicates": report.duplicates, "chunks": report.chunks_embedded, "characters": characters,
            "seconds": seconds, "peak_rss_mib": _peak_rss_mib() + reader_peak, "reader_peak_rss_mib": reader_peak,
            "embedding_backend": settings.embedding_backend,
            "document_embedding_backend": pipeline.embedder.backend, "sentence_vectors": settings.sentence_vectors}


def measure_haystack(folder: str, batch_size: int = PEER_BATCH_SIZE) -> dict:
    """In a child process: the same folder through the peer (bench/peer_haystack.py)."""
    from bench.peer_haystack import haystack_ingest
    from index.embedder import resolve_embedding_model

    result = haystack_ingest(Path(folder), resolve_embedding_model(Settings().embedding_model), batch_size)
    return {**result, "peak_rss_mib": _peak_rss_mib()}


def compare_with_peer(folder: Path, rounds: int, document_backends: list[str],
                      sentence_vectors: list[bool | None] = [None]) -> dict:  # noqa: B006 - never mutated
    """ragqa (once per document embedding backend and sentence-vector choice) and Haystack on `folder`, each
    round in the other order; the medians, and Haystack's wall time over each ragqa row's."""
    systems: list[tuple] = [("ragqa", b, sv) for b in document_backends for sv in sentence_vectors] + [("Haystack",)]
    runs: dict[tuple, list[dict]] = {system: [] for system in systems}
    for n in range(rounds):
        for system in (systems if n % 2 == 0 else systems[::-1]):
            print(f"round {n + 1}/{rounds}: {system} on {folder} ...", file=sys.stderr)
            if system == ("Haystack",):
                run = _child(measure_haystack, str(folder))
            else:
                _, backend, sv = system
                run = _child(measure_ragqa, str(folder), backend or None, sv)
            run["load_average"] = os.getloadavg()[0]
            print(json.dumps(run), file=sys.stderr)
            runs[system].append(run)
    rows = [{**measured[0], "seconds": statistics.median(r["seconds"] for r in measured),
             "peak_rss_mib": max(r["peak_rss_mib"] for r in measured), "rounds": measured}
            for measured in runs.values()]
    peer = rows[-1]
    return {"folder": str(folder), "files": len(peer_files(folder)), "rows": rows,
            "ratios": [peer["seconds"] / r["seconds"] for r in rows[:-1]]}


def _child(function, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def in_child(folder: Path, backend: str, rounds: int, questions: Path | None = None) -> dict:
    """`measure` in a fresh process, so peak RSS and warm caches belong to this run alone."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(measure, str(folder), backend, rounds, questions and str(questions)).result()


def sample(folder: Path, every: int, into: Path) -> Path:
    """A copy of one in `every` supported files of `folder`, chosen by base name (the part before the first
    dot), so the copies of one document in several formats (`os.html`, `_sources/os.rst.txt`) stay together."""
    import zlib

    from ingest.pipeline import discover

    for candidate in discover(folder, lambda *_: None):
        if zlib.crc32(candidate.path.name.split(".")[0].encode()) % every == 0:
            target = into / candidate.source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(candidate.path, target)
    return into


def subset(folder: Path, count: int, into: Path) -> Path:
    """A copy of the first `count` supported files of `folder` (sorted paths), keeping their layout."""
    from ingest.pipeline import discover

    for n, candidate in enumerate(discover(folder, lambda *_: None)):
        if n == count:
            break
        target = into / candidate.source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(candidate.path, target)
    return into


# --- reporting -----------------------------------------------------------------------------------
def throughput_table(rows: list[dict]) -> str:
    lines = ["| backend | files | chunks | ingest s (median) | ingest chunks/s | reference (torch encode) chunks/s | ratio | "
             "peak RSS MiB | RSS before MiB | answer-recall@5 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        rate, ref = r["chunks"] / r["seconds"], r["chunks"] / r["reference_seconds"]
        lines.append(f"| {r['backend']} | {r['files']} | {r['chunks']} | {r['seconds']:.1f} | {rate:.1f} | {ref:.1f} | "
                     f"**{r['ratio']:.2f}×** | {r['peak_rss_mib']:.0f} | {r['rss_before_mib']:.0f} | "
                     f"{r.get('answer_recall_at_5', float('nan')):.3f} |")
    return "\n".join(lines)


def peer_table(comparison: dict) -> str:
    lines = ["| system | files | indexed | skipped as duplicates | chunks | characters | wall s (median) | files/s | "
             "ratio | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    rows, files = comparison["rows"], comparison["files"]
    for r in rows:
        name = r["system"]
        if name == "ragqa":
            name = f"ragqa ({r['embedding_backend']}" + (
                f", {r['document_embedding_backend']} documents" if r["document_embedding_backend"] != r["embedding_backend"]
                else "") + ("" if r.get("sentence_vectors", True) else ", no sentence vectors") + ")"
        lines.append(f"| {name} | {files} | {r['files']} | {r.get('duplicates', 0)} | {r['chunks']} | "
                     f"{r['characters'] / 1e6:.2f} M | {r['seconds']:.0f} | {files / r['seconds']:.2f} | "
                     f"**{rows[-1]['seconds'] / r['seconds']:.2f}×** | {r['peak_rss_mib']:.0f} |")
    loads = ", ".join(f"{run['load_average']:.1f}" for r in rows for run in r["rounds"])
    return "\n".join(lines) + f"\n\nLoad average (1 min) as each run ended: {loads}."


def growth_table(rows: list[dict]) -> str:
    lines = ["| files | chunks | chunk text MiB | index on disk MiB | RSS before MiB | peak RSS MiB | growth MiB |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['files']} | {r['chunks']} | {r['text_mib']:.1f} | {r['index_mib']:.1f} | "
                     f"{r['rss_before_mib']:.0f} | {r['peak_rss_mib']:.0f} | {r['peak_rss_mib'] - r['rss_before_mib']:.0f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    default = XQUAD_ARTICLES if XQUAD_ARTICLES.is_dir() else REPO / "docs"
    parser.add_argument("folder", type=Path, nargs="?", default=default, help=f"folder to ingest (default: {default})")
    parser.add_argument("--backends", default="torch",
                        help="comma-separated embedding backends to measure (torch, onnx, onnx-int8; default torch; "
                             "empty: only --growth)")
    parser.add_argument("--growth", type=Path, nargs="?", const=PYTHON_DOCS,
                        help=f"also measure memory on growing subsets of this folder (default {PYTHON_DOCS})")
    parser.add_argument("--growth-sizes", default=",".join(map(str, GROWTH_SIZES)),
                        help="files per growth subset (default %(default)s)")
    parser.add_argument("--questions", type=Path,
                        help="SQuAD questions on FOLDER's articles: also report hybrid answer-recall@5 per backend "
                             "(default: questions-dev.json beside the XQuAD articles folder)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="ingest + reference pairs per backend, in alternating order (default %(default)s)")
    parser.add_argument("--peer", choices=("auto", "yes", "no"), default="auto",
                        help="also ingest FOLDER with Haystack 2 and compare (auto: when haystack-ai is installed; "
                             "pip install -r requirements-bench.txt)")
    parser.add_argument("--peer-rounds", type=int, default=1,
                        help="ragqa + Haystack pairs, in alternating order (default %(default)s)")
    parser.add_argument("--document-backends", default="",
                        help="with --peer: comma-separated RAGQA_DOCUMENT_EMBEDDING_BACKEND values, one ragqa row each "
                             "(default: the settings' own)")
    parser.add_argument("--sentence-vectors", default="",
                        help="comma-separated on/off: a ragqa row per choice of RAGQA_SENTENCE_VECTORS in the --peer "
                             "comparison (default: as the settings say)")
    parser.add_argument("--sample", type=int, default=1, metavar="N",
                        help="ingest one in N files of FOLDER, chosen by base name (default 1: all)")
    parser.add_argument("--json", type=Path, help="also write the measurements as JSON to this file")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    xquad_questions = XQUAD_ARTICLES.parent / "questions-dev.json"
    if args.questions is None and args.folder.resolve() == XQUAD_ARTICLES.resolve() and xquad_questions.is_file():
        args.questions = xquad_questions
    if args.growth is not None and not args.growth.is_dir():
        parser.error(f"{args.growth} is not a folder")
    if args.peer == "yes" and not peer_available():
        parser.error("--peer yes needs Haystack: pip install -r requirements-bench.txt")
    if args.sample < 1 or args.peer_rounds < 1:
        parser.error("--sample and --peer-rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    use_offline_models()
    args = parse_args(argv)
    report: dict = {"folder": str(args.folder), "throughput": [], "growth": [], "peer": None}
    with tempfile.TemporaryDirectory(prefix="ragqa-bench-sample-") as tmp:
        if args.sample > 1:
            args.folder = sample(args.folder, args.sample, Path(tmp) / "sample")
        _measure(args, report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _measure(args: argparse.Namespace, report: dict) -> None:
    for backend in filter(None, args.backends.split(",")):
        print(f"measuring {backend} on {args.folder} ...", file=sys.stderr)
        report["throughput"].append(in_child(args.folder, backend.strip(), max(args.rounds, 1), args.questions))
        print(json.dumps(report["throughput"][-1]), file=sys.stderr)
    if report["throughput"]:
        print(f"## Ingestion throughput: {args.folder}\n")
        print(throughput_table(report["throughput"]))
    if args.growth is not None:
        with tempfile.TemporaryDirectory(prefix="ragqa-bench-growth-") as tmp:
            for count in map(int, args.growth_sizes.split(",")):
                print(f"measuring memory on {count} files of {args.growth} ...", file=sys.stderr)
                folder = subset(args.growth, count, Path(tmp) / str(count))
                report["growth"].append(in_child(folder, "torch", rounds=0))
                print(json.dumps(report["growth"][-1]), file=sys.stderr)
        print(f"\n## Memory against folder size: subsets of {args.growth}\n")
        print(growth_table(report["growth"]))
    if args.peer == "yes" or (args.peer == "auto" and peer_available()):
        sentence_vectors = [{"on": True, "off": False}[c] for c in args.sentence_vectors.split(",") if c] or [None]
        report["peer"] = compare_with_peer(args.folder, args.peer_rounds, args.document_backends.split(","), sentence_vectors)
        sampled = f" (one file in {args.sample}, by base name)" if args.sample > 1 else ""
        print(f"\n## ragqa and Haystack 2 on {report['folder']}{sampled}\n")
        print(peer_table(report["peer"]))

if __name__ == "__main__":
    sys.exit(main())
