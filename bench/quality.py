"""`python -m bench.quality QUESTIONS ARTICLES`: how well ragqa answers a SQuAD-format or explanatory question set.

Ingests the ARTICLES folder with the project's own pipeline (into a temporary index, or `--index`),
answers every question in-process through the same `Answerer` as `POST /ask`, and reports retrieval
(answer-recall@k, MRR), answers (SQuAD EM and F1), grounding (quotes, citation precision,
abstention) and latency as a markdown table on stdout, and as JSON with `--json PATH`.
`--absent` also asks each question against a copy of the index without its own article, where the
right behaviour is to abstain. `--followups N` also asks N two-question conversations whose second
question refers back to the first, beside the same questions written standalone, and N unrelated
pairs (bench/followups.py); `--followups-rewrite-only` measures their rewrites alone (no answers
generated). An explanatory set (explain-dev.json: questions with key points and reference sentences)
is scored instead by key-point recall, ROUGE-L F1, support of every answer sentence, words per answer,
latency and time to the first text, per question kind (bench/explained.py).
`--retrieval-only` loads no generator and compares the retrieval modes instead (`bench/retrieval.py`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.answering.answerer import Answerer
from app.generation.base import Generator
from app.schemas import AskResponse
from bench import followups, retrieval
from bench.explain_set import ExplainQuestion, is_explain_file, load_explain_questions
from bench.explained import false_accepts, per_kind, score_explained, summarise_explained
from bench.generation_cache import CachedGenerator
from bench.retrieval import RECALL_AT, article_sources, build_index, holds_gold  # noqa: F401 (bench.injection, bench.ingest)
from bench.squad import Question, exact_match, f1, load_questions
from core.environment import use_offline_models
from core.settings import Settings
from index.directory import IndexDirectory
from index.embedder import Embedder
from index.retrieval import Retriever
from index.types import Hit

HAS_QUOTES = "quote" in AskResponse.model_fields  # responses may not carry a quote yet


@dataclass(frozen=True)
class Outcome:
    """What one question scored."""

    gold_rank: int | None  # rank of the first retrieved chunk holding a gold answer, None if none
    em: float
    f1: float
    abstained: bool
    cited_gold: bool  # the first citation holds a gold answer
    quoted: bool  # the answer carries a quote
    quote_verbatim: bool  # ... that is document[start:end] and lies within a citation
    retrieval_ms: float
    generation_ms: float | None  # None when retrieval was too weak for the model to be called
    total_ms: float
    first_text_ms: float | None  # when the first piece of the answer's text was ready (as streamed)


def quote_is_verbatim(response: AskResponse, index: IndexDirectory) -> bool:
    quote = getattr(response, "quote", None)
    if quote is None or not quote.text:
        return False
    document = index.store.document_text(quote.source)
    return (document is not None and document[quote.start:quote.end] == quote.text
            and any(quote.text in c.text for c in response.citations))


def score(question: Question, response: AskResponse, hits: Sequence[Hit], index: IndexDirectory,
          first_text_ms: float | None = None) -> Outcome:
    ranks = [rank for rank, hit in enumerate(hits, start=1) if holds_gold(hit.text, question.answers)]
    answered = not response.abstained
    return Outcome(
        gold_rank=ranks[0] if ranks else None,
        em=exact_match(response.answer, question.answers) if answered else 0.0,
        f1=f1(response.answer, question.answers) if answered else 0.0,
        abstained=response.abstained,
        cited_gold=bool(response.citations) and holds_gold(response.citations[0].text, question.answers),
        quoted=getattr(response, "quote", None) is not None,
        quote_verbatim=quote_is_verbatim(response, index),
        retrieval_ms=response.timings_ms["retrieval"],
        generation_ms=response.timings_ms.get("generation"),
        total_ms=response.timings_ms["total"],
        first_text_ms=first_text_ms,
    )


def ask_timed(runner: asyncio.Runner, answerer: Answerer, question: str, top_k: int,
              style: str) -> tuple[AskResponse, float | None]:
    """The answer as `POST /ask` gives it, and the milliseconds until its first piece of text (as streamed)."""
    started, first = time.perf_counter(), []

    def on_text(_piece: str) -> None:
        if not first:
            first.append(time.perf_counter())

    response = runner.run(answerer.ask(question, top_k, on_text, style=style))
    return response, round((first[0] - started) * 1000, 1) if first else None


def ask_all(runner: asyncio.Runner, answerer: Answerer, questions: Sequence[Question | ExplainQuestion], top_k: int,
            bar: tqdm, dump: list[dict] | None = None, style: str = "auto",
            responses: list[tuple[ExplainQuestion, AskResponse]] | None = None) -> list:
    """Ask each question as `POST /ask` does, plus, for a SQuAD question, one search for the retrieval metrics.

    With `dump`, also appends one record per question: what was asked, retrieved, given and said;
    with `responses`, each explanatory question and its response.
    """
    outcomes: list = []
    index = answerer.retriever.index
    for question in questions:
        response, first_text_ms = ask_timed(runner, answerer, question.question, top_k, style)
        if isinstance(question, ExplainQuestion):
            outcomes.append(score_explained(question, response, index, first_text_ms))
            if responses is not None:
                responses.append((question, response))
            if dump is not None:
                dump.append({"id": question.id, "kind": question.kind, "question": question.question,
                             "answer": response.answer, "reference": question.reference} | asdict(outcomes[-1]))
        else:
            hits = answerer.retriever.search(question.question, max(RECALL_AT))
            outcomes.append(score(question, response, hits, index, first_text_ms))
            if dump is not None:
                dump.append(record(question, response, hits, answerer, top_k) | asdict(outcomes[-1]))
        bar.update(1)
    return outcomes


class DumpFile(list):
    """The `--dump` records, each also written to its JSON-lines file as soon as it exists."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = path.open("w")

    def append(self, item: dict) -> None:
        super().append(item)
        self._file.write(json.dumps(item) + "\n")
        self._file.flush()


def record(question: Question, response: AskResponse, hits: Sequence[Hit], answerer: Answerer, top_k: int) -> dict:
    """One question's trace for error analysis (`--dump`)."""
    evidence = answerer.evidence(question.question, top_k)[0] if answerer.settings.evidence_sentences else []
    last = getattr(answerer.generator, "last", None)
    return {
        "id": question.id, "title": question.title, "question": question.question, "answers": list(question.answers),
        "answer": response.answer, "raw": last.text if last and "generation" in response.timings_ms else None,
        "similarities": [round(h.similarity, 4) for h in hits], "sources": [h.source for h in hits],
        "evidence": [e.text for e in evidence],
        "quote": response.quote.text if getattr(response, "quote", None) else None,
        "index": str(answerer.retriever.index.path),
    }


def answerer_over(index: IndexDirectory, embedder: Embedder, generator: Generator, settings: Settings) -> Answerer:
    """The service's Answerer (app/services.py) over one index."""
    return Answerer(Retriever.from_settings(index, embedder, settings), generator, settings)


# --- metrics -------------------------------------------------------------------------------------
def mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(float(np.mean(values)), 4) if values else None


def percentiles(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    p50, p95 = np.percentile(values, [50, 95])
    return round(float(p50), 1), round(float(p95), 1)


def summarise(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    """Every metric of the normal run; rates are fractions in [0, 1]."""
    answered = [o for o in outcomes if not o.abstained]
    quoted = [o for o in answered if o.quoted]
    retrieval_p50, retrieval_p95 = percentiles(o.retrieval_ms for o in outcomes)
    generation_p50, generation_p95 = percentiles(o.generation_ms for o in outcomes)
    total_p50, total_p95 = percentiles(o.total_ms for o in outcomes)
    first_p50, first_p95 = percentiles(o.first_text_ms for o in outcomes)
    return {
        **{f"answer_recall@{k}": mean(o.gold_rank is not None and o.gold_rank <= k for o in outcomes)
           for k in RECALL_AT},
        f"mrr@{max(RECALL_AT)}": mean(1 / o.gold_rank if o.gold_rank else 0.0 for o in outcomes),
        "exact_match": mean(o.em for o in outcomes),
        "f1": mean(o.f1 for o in outcomes),
        "quote_rate": mean(o.quoted for o in answered) if HAS_QUOTES else None,  # of answered questions
        "quote_verbatim_rate": mean(o.quote_verbatim for o in quoted) if HAS_QUOTES else None,  # of quotes
        "citation_precision": mean(o.cited_gold for o in answered),
        "abstention_rate": mean(o.abstained for o in outcomes),
        "answered_rate": mean(not o.abstained for o in outcomes),
        "retrieval_ms_p50": retrieval_p50,
        "retrieval_ms_p95": retrieval_p95,
        "generation_ms_p50": generation_p50,
        "generation_ms_p95": generation_p95,
        "ask_ms_p50": total_p50,
        "ask_ms_p95": total_p95,
        "first_text_ms_p50": first_p50,
        "first_text_ms_p95": first_p95,
    }


def markdown(report: dict) -> str:
    s = report["settings"]
    rows = [("questions", report["questions"]), ("style", report["style"]), *report.get("metrics", {}).items()]
    rows += [(f"support check: {name}", value) for name, value in report.get("support_check", {}).items()]
    if "absent" in report:
        rows += [(f"absent: {name}", value) for name, value in report["absent"].items()]
    lines = [f"model {s['model']}, top_k {s['top_k']}, retrieval {s['retrieval_mode']}, "
             f"chunk_tokens {s['chunk_tokens']}, abstain_threshold {s['abstain_threshold']} "
             f"(+ {s.get('abstain_coverage_weight', 0)} x coverage), "
             f"max_new_tokens {s['max_new_tokens']}, followup_rewrite {s.get('followup_rewrite')}",
             "", "| metric | value |", "|---|---:|"]
    lines += [f"| {name} | {'n/a' if value is None else value} |" for name, value in rows]
    if report.get("per_kind"):
        lines += ["", "| kind | questions | key-point recall | ROUGE-L F1 | answered | words |", "|---|---:|---:|---:|---:|---:|"]
        lines += [f"| {kind} | {m['questions']} | {m['key_point_recall']} | {m['rouge_l_f1']} | {m['answered']} | "
                  f"{m['words']} |" for kind, m in report["per_kind"].items()]
    return "\n".join(lines)


# --- the corpus and its indexes ------------------------------------------------------------------
def explain_sources(questions: Iterable[ExplainQuestion], folder: Path) -> dict[str, str]:
    """Article file → itself (explanatory questions name their file), each checked to be in `folder`."""
    files = {p.name for p in folder.iterdir() if p.is_file()}
    for article in sorted({q.article for q in questions}):
        if article not in files:
            raise SystemExit(f"error: no article file {article!r} in {folder}")
    return {q.article: q.article for q in questions}


def index_without(index: IndexDirectory, source: str, embedder: Embedder, path: Path) -> IndexDirectory:
    """A copy of `index` at `path` lacking the document `source`, opened for reading."""
    shutil.copytree(index.path, path)
    copy = IndexDirectory.open_for_writing(path, embedder.name, embedder.dimension)
    copy.remove_document(source)
    copy.flush()
    copy.close()
    return IndexDirectory.open(path, embedder.name)


def ask_without_own_article(runner: asyncio.Runner, index: IndexDirectory, sources: dict[str, str],
                            questions: Sequence[Question], top_k: int, embedder: Embedder,
                            generator: Generator, settings: Settings, dump: list[dict] | None = None,
                            style: str = "auto") -> dict:
    """Ask each question against the index minus its article; abstaining is the right answer."""
    by_source: dict[str, list[Question]] = defaultdict(list)
    for question in questions:
        by_source[sources[question.title]].append(question)
    outcomes: list[Outcome] = []
    answerer: Answerer | None = None  # one, over each copy in turn: one generation queue for the run
    with tempfile.TemporaryDirectory(prefix="ragqa-absent-") as tmp, \
            tqdm(total=len(questions), desc="absent", unit="question", file=sys.stderr, disable=None) as bar:
        for n, (source, asked) in enumerate(sorted(by_source.items())):
            copy = index_without(index, source, embedder, Path(tmp) / str(n))
            answerer = answerer_over(copy, embedder, generator, settings) if answerer is None else \
                answerer.over(Retriever.from_settings(copy, embedder, settings))
            outcomes += ask_all(runner, answerer, asked, top_k, bar, dump, style)
            copy.close()
            shutil.rmtree(copy.path)
    return {"questions": len(outcomes), "articles": len(by_source),
            "abstention_accuracy": mean(o.abstained for o in outcomes)}


# --- command line --------------------------------------------------------------------------------
def parse_args(argv: list[str] | None, prog: str = "python -m bench.quality") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path,
                        help="SQuAD-format question file (JSON), or an explanatory set such as explain-dev.json")
    parser.add_argument("articles", type=Path, help="folder of the articles, one file per SQuAD title")
    parser.add_argument("--index", type=Path, help="index directory to reuse or update (default: a temporary one)")
    parser.add_argument("--limit", type=int, help="ask a random sample of N questions")
    parser.add_argument("--seed", type=int, default=0, help="seed of the --limit sample (default 0)")
    parser.add_argument("--model", help="generator to use instead of RAGQA_MODEL")
    parser.add_argument("--top-k", type=int, default=4, help="passages per question, as AskRequest.top_k (default 4)")
    parser.add_argument("--style", choices=("auto", "short", "explain"), default="auto",
                        help="answer shape asked for, as AskRequest.style (default auto)")
    parser.add_argument("--absent", action="store_true",
                        help="also ask each question against the index without its article (should abstain)")
    parser.add_argument("--absent-only", action="store_true", help="only the --absent check (abstention calibration)")
    parser.add_argument("--followups", type=int, default=0, metavar="N",
                        help="also ask N two-question conversations whose second question refers back to the first, "
                             "and N unrelated pairs (bench/followups.py); built from all QUESTIONS with --seed")
    parser.add_argument("--followups-only", action="store_true", help="only the --followups check")
    parser.add_argument("--followups-rewrite-only", action="store_true",
                        help="only the --followups rewrites: recall, unrelated pairs and rewrite latency, no answers "
                             "generated (no generator loaded with RAGQA_FOLLOWUP_REWRITE=retrieval)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON to this file")
    parser.add_argument("--dump", type=Path, help="write one JSON line per question (answer, evidence, scores) here")
    parser.add_argument("--retrieval-only", action="store_true",
                        help="no generator: answer-recall@1/3/5 and search time of every retrieval mode "
                             "(python -m bench.retrieval; --index and --json apply)")
    parser.add_argument("--generation-cache", type=Path,
                        help="reuse generations of identical prompts from this SQLite file (experiments only: "
                             "cached generations report no real latency)")
    args = parser.parse_args(argv)
    if not args.articles.is_dir():
        parser.error(f"{args.articles} is not a folder")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.followups < 0 or ((args.followups_only or args.followups_rewrite_only) and not args.followups):
        parser.error("--followups must be a positive number of conversations (--followups-only needs it)")
    args.followups_only = args.followups_only or args.followups_rewrite_only
    return args


def main(argv: list[str] | None = None, prog: str = "python -m bench.quality") -> int:
    use_offline_models()
    args = parse_args(argv, prog)
    if args.retrieval_only:
        return retrieval.main([str(args.questions), str(args.articles), "--halves",
                               *(["--index", str(args.index)] if args.index else []),
                               *(["--json", str(args.json)] if args.json else [])], prog)
    settings = Settings()
    if args.model:
        settings = settings.model_copy(update={"model": args.model})
    explanatory = is_explain_file(args.questions)
    if explanatory:
        questions = load_explain_questions(args.questions)
        sources = explain_sources(questions, args.articles)
        conversations = []
        if args.followups:
            raise SystemExit("error: --followups needs a SQuAD-format question file")
    else:
        questions = load_questions(args.questions)
        sources = article_sources(questions, args.articles)
        articles = {title: (args.articles / source).read_text(encoding="utf-8") for title, source in sources.items()}
        conversations = followups.build(questions, articles, args.followups, args.followups, args.seed)
    if args.limit is not None:
        questions = random.Random(args.seed).sample(questions, min(args.limit, len(questions)))

    from app.generation.factory import generator_from_settings  # heavy: after the arguments are known to be good

    embedder = Embedder.from_settings(settings)
    rewrites_only = args.followups_rewrite_only and settings.followup_rewrite == "retrieval"
    generator = followups.NoGenerator() if rewrites_only else generator_from_settings(settings)
    if args.generation_cache:
        generator = CachedGenerator(generator, args.generation_cache)
    dump = DumpFile(args.dump) if args.dump else None
    report: dict = {
        "settings": {"model": settings.model, "top_k": args.top_k, "retrieval_mode": settings.retrieval_mode,
                     "chunk_tokens": settings.chunk_tokens, "abstain_threshold": settings.abstain_threshold,
                     "abstain_coverage_weight": settings.abstain_coverage_weight,
                     "evidence_embedding_backend": settings.evidence_embedding_backend,
                     "max_new_tokens": settings.max_new_tokens, "followup_rewrite": settings.followup_rewrite},
        "data": {"questions": str(args.questions), "articles": str(args.articles),
                 "limit": args.limit, "seed": args.seed if args.limit is not None else None},
        "questions": len(questions),
        "style": args.style,
    }
    with tempfile.TemporaryDirectory(prefix="ragqa-bench-") as tmp, asyncio.Runner() as runner:
        index = build_index(args.articles, args.index or Path(tmp) / "index", embedder, settings)
        missing = sorted(set(sources.values()) - set(index.store.manifest()))
        if missing:
            raise SystemExit(f"error: articles not in the index (unreadable?): {', '.join(missing)}")
        answerer = answerer_over(index, embedder, generator, settings)
        with tqdm(total=len(questions), desc="asking", unit="question", file=sys.stderr, disable=None) as bar:
            if not (args.absent_only or args.followups_only) and explanatory:
                responses: list[tuple[ExplainQuestion, AskResponse]] = []
                outcomes = ask_all(runner, answerer, questions, args.top_k, bar, dump, args.style, responses)
                report["metrics"] = summarise_explained(outcomes, percentiles)
                report["per_kind"] = per_kind(outcomes)
                report["support_check"] = false_accepts(
                    [(s, q.article) for q, r in responses for s in r.sentences], index, args.seed)
            elif not (args.absent_only or args.followups_only):
                report["metrics"] = summarise(ask_all(runner, answerer, questions, args.top_k, bar, dump, args.style))
        if args.absent or args.absent_only:
            report["absent"] = ask_without_own_article(runner, index, sources, questions, args.top_k,
                                                       embedder, generator, settings, dump, args.style)
        if conversations:
            with tqdm(total=len(conversations), desc="conversations", unit="pair", file=sys.stderr, disable=None) as bar:
                if args.followups_rewrite_only:
                    report["followups"] = followups.evaluate_rewrites(runner, answerer, conversations, max(RECALL_AT), bar)
                else:
                    report["followups"] = followups.evaluate(runner, answerer, conversations, args.top_k,
                                                             max(RECALL_AT), bar)
        index.close()
    print(markdown(report))
    if "followups" in report:
        print("\n" + followups.markdown(report["followups"], max(RECALL_AT)))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")

    return 0


if __name__ == "__main__":
    sys.exit(main())
