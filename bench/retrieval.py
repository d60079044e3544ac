"""`python -m bench.retrieval QUESTIONS ARTICLES`: answer-recall@1/3/5 and cost per query of each retrieval mode.

Retrieval only (no generator is loaded): ingests the ARTICLES folder as `bench.quality` does, then
runs every question through `Retriever.search` (query embedding included) in each mode and reports
the share of questions with a gold answer in the top 1, 3 and 5 passages, MRR@5, and the search
time per query. `--halves` also reports the two halves of the articles apart (tune on one, check
on the other). `python -m bench.quality --retrieval-only` runs this.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.squad import Question, load_questions
from core.environment import use_offline_models
from core.settings import Settings
from index.directory import IndexDirectory
from index.embedder import Embedder
from index.retrieval import MODES, Retriever
from index.vectors import VectorOptions
from ingest.pipeline import IngestPipeline

RECALL_AT = (1, 3, 5)  # answer-recall@k and MRR come from one search of max(RECALL_AT) chunks


def holds_gold(text: str, golds: Iterable[str]) -> bool:
    """A gold answer occurs in the text (case-sensitive substring, as SQuAD answers are spans)."""
    return any(gold in text for gold in golds)


# --- the corpus and its index (bench.quality's too) ----------------------------------------------
def _title_key(name: str) -> str:
    """Title 'Fresno,_California' and file stem 'Fresno__California' both become 'fresnocalifornia'."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def article_sources(questions: Iterable[Question], folder: Path) -> dict[str, str]:
    """SQuAD title → the index source (file name) of its article in `folder`."""
    files = {_title_key(p.stem): p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    sources = {}
    for title in sorted({q.title for q in questions}):
        if _title_key(title) not in files:
            raise SystemExit(f"error: no article file in {folder} for the title {title!r}")
        sources[title] = files[_title_key(title)]
    return sources


def build_index(folder: Path, path: Path, embedder: Embedder, settings: Settings) -> IndexDirectory:
    """Bring the index at `path` in line with `folder` with the project's ingest pipeline."""
    recorded = IndexDirectory.mirrored_folder(path)
    if recorded and recorded != str(folder.resolve()):  # as `python -m ingest`: never wipe another folder's index
        raise SystemExit(f"error: index {path} mirrors {recorded}, not {folder.resolve()}; use another --index")
    index = IndexDirectory.open_for_writing(path, embedder.name, embedder.dimension,
                                            VectorOptions.from_settings(settings))
    pipeline = IngestPipeline.from_settings(index, embedder, settings)
    with tqdm(desc="ingesting", unit="file", file=sys.stderr, disable=None, leave=False) as bar:
        pipeline.run(folder, on_file=lambda _source: bar.update(1))
    return index


# --- retrieval metrics ---------------------------------------------------------------------------
def _mean(values: Iterable[float]) -> float:
    return round(float(np.mean(list(values))), 4)


def gold_ranks(retriever: Retriever, questions: Sequence[Question], mode: str) -> tuple[list[int | None], list[float]]:
    """Rank of the first passage holding a gold answer (None if none in the top 5), and ms per search."""
    ranks, times = [], []
    for question in questions:
        started = time.perf_counter()
        hits = retriever.search(question.question, max(RECALL_AT), mode)
        times.append((time.perf_counter() - started) * 1000)
        ranks.append(next((n for n, hit in enumerate(hits, start=1) if holds_gold(hit.text, question.answers)), None))
    return ranks, times


def summarise(ranks: Sequence[int | None], times: Sequence[float]) -> dict:
    return {
        **{f"answer_recall@{k}": _mean(r is not None and r <= k for r in ranks) for k in RECALL_AT},
        f"mrr@{max(RECALL_AT)}": _mean(1 / r if r else 0.0 for r in ranks),
        "search_ms_p50": round(float(np.percentile(times, 50)), 2),
        "search_ms_p95": round(float(np.percentile(times, 95)), 2),
    }


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [f"embedder {s['embedding_model']} ({s['embedding_backend']}), chunk_tokens {s['chunk_tokens']}, "
             f"overlap {s['chunk_overlap_tokens']}, {report['questions']} questions, {report['chunks']} chunks", "",
             "| mode | questions | @1 | @3 | @5 | MRR@5 | search p50 / p95 ms |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in report["rows"]:
        m = row["metrics"]
        lines.append(f"| {row['mode']}{' ' + row['part'] if row['part'] else ''} | {row['questions']} | "
                     f"{m['answer_recall@1']:.3f} | {m['answer_recall@3']:.3f} | {m['answer_recall@5']:.3f} | "
                     f"{m['mrr@5']:.3f} | {m['search_ms_p50']} / {m['search_ms_p95']} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None, prog: str = "python -m bench.retrieval") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path, help="SQuAD-format question file (JSON)")
    parser.add_argument("articles", type=Path, help="folder of the articles, one file per SQuAD title")
    parser.add_argument("--index", type=Path, help="index directory to reuse or update (default: a temporary one)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"comma-separated retrieval modes (default: all of {','.join(MODES)})")
    parser.add_argument("--halves", action="store_true",
                        help="also report the questions of every other article (A: 1st, 3rd, ... by title; B: the rest)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    if not args.articles.is_dir():
        parser.error(f"{args.articles} is not a folder")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if unknown := [m for m in args.modes if m not in MODES]:
        parser.error(f"unknown retrieval mode {unknown[0]!r}: expected some of {', '.join(MODES)}")
    return args


def main(argv: list[str] | None = None, prog: str = "python -m bench.retrieval") -> int:
    use_offline_models()
    args = parse_args(argv, prog)
    settings = Settings()
    questions = load_questions(args.questions)
    sources = article_sources(questions, args.articles)
    titles = sorted(sources)
    half_a = set(titles[0::2])
    embedder = Embedder.from_settings(settings)
    report: dict = {
        "settings": {"embedding_model": embedder.name, "embedding_backend": settings.embedding_backend,
                     "chunk_tokens": settings.chunk_tokens, "chunk_overlap_tokens": settings.chunk_overlap_tokens},
        "data": {"questions": str(args.questions), "articles": str(args.articles)},
        "questions": len(questions), "rows": [],
    }
    with tempfile.TemporaryDirectory(prefix="ragqa-bench-") as tmp:
        index = build_index(args.articles, args.index or Path(tmp) / "index", embedder, settings)
        report["chunks"] = index.store.chunk_count()
        retriever = Retriever.from_settings(index, embedder, settings)
        retriever.search("warm-up", 5)
        for mode in args.modes:
            ranks, times = gold_ranks(retriever, questions, mode)
            report["rows"].append({"mode": mode, "part": "", "questions": len(questions),
                                   "metrics": summarise(ranks, times)})
            if args.halves:
                for part, wanted in (("A", True), ("B", False)):
                    picked = [i for i, q in enumerate(questions) if (q.title in half_a) == wanted]
                    report["rows"].append({"mode": mode, "part": part, "questions": len(picked),
                                           "metrics": summarise([ranks[i] for i in picked], [times[i] for i in picked])})
        index.close()
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
