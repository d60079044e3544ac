"""`python -m bench.serve [FOLDER]`: how fast the service serves — cold start, /ask overhead, time to first token, concurrency.

Spawns real uvicorn processes of `app.main:app` over an index of FOLDER and measures, in one run:

- cold start: process start to `/readyz` 200, converted weights cached (median of `--starts`);
- cold page cache: the same after the model files and the libraries are dropped from the page cache (as after
  a reboot), then the first `/ask` after ready against the p50 of the next `--samples` (the warm-up's promise);
- `/ask` overhead: end-to-end latency minus the model's own `generate` time on the same prompt,
  the latter measured in this process with the same model, index and settings (same run, interleaved);
- time to first token of streamed answers (`"stream": true`), one client;
- throughput with one client versus `--clients` clients asking at once (dynamic batching), with
  the slowest answer (starvation) and /healthz and /search latency while the model works.

Questions: the xquad-en set (`../shared/data/xquad-en`) over its articles when present, else
built-in questions over the project's `docs/`. Prints a markdown table; `--json PATH` saves it.
The machine may be shared: the figures that matter are the ratios measured in the same run.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.server_process import ServerFailed, running_server
from core.environment import use_offline_models
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
XQUAD = ROOT.parent / "shared" / "data" / "xquad-en"
# Questions about the user guide in docs/, for a fresh clone without the xquad data.
DOCS_QUESTIONS = (
    "How do I ingest a folder?",
    "Which file formats does ingest read?",
    "What does RAGQA_ABSTAIN_THRESHOLD do?",
    "Which setting limits the request body size?",
    "What happens when the index was built with another embedding model?",
    "How often does the service check for a new index?",
    "What does /readyz return while the service is loading?",
    "Which model is the default generator?",
    "How do I run the service in Docker?",
    "What does the quote field of an answer contain?",
    "How many passages does /ask retrieve by default?",
    "What is the default retrieval mode?",
    "Where are converted model weights cached?",
    "What does RAGQA_MAX_NEW_TOKENS limit?",
    "How are files larger than the size limit handled?",
    "What does the score field of a citation mean?",
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, nargs="?",
                        help="folder to index (default: xquad-en articles when present, else docs/)")
    parser.add_argument("--questions", type=Path, help="SQuAD-format questions (default: xquad-en's when present)")
    parser.add_argument("--model", default=Settings().model, help="RAGQA_MODEL of the served model (default: the settings')")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for the throughput test")
    parser.add_argument("--batch-size", type=int, help="RAGQA_BATCH_MAX_SIZE of the server (default: the settings')")
    parser.add_argument("--requests", type=int, default=16, help="answers per throughput run (each of 1 and N clients)")
    parser.add_argument("--samples", type=int, default=8, help="questions for the overhead and first-token tests")
    parser.add_argument("--starts", type=int, default=3, help="server starts for the cold-start median")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    return parser.parse_args(argv)


def pick_questions(args: argparse.Namespace) -> tuple[Path, list[str]]:
    """The folder to index and the questions to ask about it."""
    rng = random.Random(args.seed)
    needed = max(args.requests, args.samples)
    questions_file = args.questions or (XQUAD / "questions-dev.json" if args.folder is None else None)
    if questions_file is not None and questions_file.is_file():
        from bench.squad import load_questions

        questions = [q.question for q in load_questions(questions_file)]
        folder = args.folder or XQUAD / "articles"
    else:
        questions, folder = list(DOCS_QUESTIONS), args.folder or ROOT / "docs"
    rng.shuffle(questions)
    return folder, (questions * (needed // len(questions) + 1))[:needed]


def ask(client: httpx.Client, question: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.post("/ask", json={"question": question})
    response.raise_for_status()
    return time.perf_counter() - started, response.json()


def first_token_seconds(client: httpx.Client, question: str) -> float | None:
    """Seconds to the first `token` event of a streamed answer; None when the answer has none (abstained)."""
    started = time.perf_counter()
    with client.stream("POST", "/ask", json={"question": question, "stream": True}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line == "event: token":
                return time.perf_counter() - started
    return None


class TimedGenerator:
    """Wraps the in-process generator to keep each prompt and the model's own time on it."""

    def __init__(self, generator) -> None:
        self.generator, self.name = generator, generator.name
        self.calls: list[tuple[list[dict[str, str]], float, str]] = []

    def generate(self, messages, max_new_tokens):
        return self.generate_batch([_request(messages, max_new_tokens)])[0]

    def generate_batch(self, requests):
        started = time.perf_counter()
        generations = self.generator.generate_batch(requests)
        elapsed = time.perf_counter() - started
        self.calls.extend((r.messages, elapsed, g.text) for r, g in zip(requests, generations))
        return generations


def _request(messages, max_new_tokens):
    from app.generation.base import GenerationRequest

    return GenerationRequest(messages, max_new_tokens)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_overhead(client: httpx.Client, index_dir: Path, settings: Settings, questions: Sequence[str]) -> dict:
    """Per question: the server's /ask latency, then the same prompt's generate time in this process."""
    from app.answering.answerer import Answerer
    from app.generation.factory import generator_from_settings
    from index.directory import IndexDirectory
    from index.embedder import Embedder
    from index.retrieval import Retriever
    from index.vectors import VectorOptions

    embedder = Embedder.from_settings(settings)
    generator = TimedGenerator(generator_from_settings(settings))
    index = IndexDirectory.open(index_dir, embedder.name, vectors=VectorOptions.from_settings(settings))
    answerer = Answerer(Retriever.from_settings(index, embedder, settings), generator, settings)
    rows = []
    with asyncio.Runner() as runner:
        for question in questions:
            latency, served_body = ask(client, question)
            calls = len(generator.calls)
            local = runner.run(answerer.ask(question, 4))
            if len(generator.calls) == calls:  # abstained before the model: nothing to compare
                continue
            _, generate_seconds, _ = generator.calls[-1]
            timings = served_body["timings_ms"]
            rows.append({"question": question, "end_to_end_s": latency, "generate_s": generate_seconds,
                         "same_answer": served_body["answer"] == local.answer,
                         # where the overhead goes, from the server's own timings
                         "http_s": latency - timings["total"] / 1000,
                         "before_generation_s": (timings["total"] - timings["generation"]) / 1000,
                         "served_generation_s": timings["generation"] / 1000})
    index.close()
    overheads = [r["end_to_end_s"] - r["generate_s"] for r in rows]
    return {
        "answers_compared": len(rows),
        "end_to_end_p50_s": statistics.median(r["end_to_end_s"] for r in rows),
        "generate_p50_s": statistics.median(r["generate_s"] for r in rows),
        "overhead_p50_ms": 1000 * statistics.median(overheads),
        "overhead_p50_pct": 100 * statistics.median(o / r["generate_s"] for o, r in zip(overheads, rows)),
        "same_answers": sum(r["same_answer"] for r in rows),
        "http_p50_ms": 1000 * statistics.median(r["http_s"] for r in rows),
        "retrieval_evidence_queue_p50_ms": 1000 * statistics.median(r["before_generation_s"] for r in rows),
        "served_minus_direct_generate_p50_ms": 1000 * statistics.median(r["served_generation_s"] - r["generate_s"] for r in rows),
    }


def measure_throughput(client: httpx.Client, questions: Sequence[str], clients: int) -> dict:
    """Answers per second with `clients` asking at once; meanwhile /healthz and /search latency."""
    probes: dict[str, list[float]] = {"healthz": [], "search": []}
    done = False

    def probe() -> None:
        while not done:
            for name, call in (("healthz", lambda: client.get("/healthz")),
                               ("search", lambda: client.post("/search", json={"query": questions[0]}))):
                started = time.perf_counter()
                call().raise_for_status()
                probes[name].append(time.perf_counter() - started)
            time.sleep(0.2)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients + 1) as pool:
        prober = pool.submit(probe)
        latencies = [latency for latency, _ in pool.map(lambda q: ask(client, q), questions)]
        done = True
        prober.result()
    wall = time.perf_counter() - started
    return {"clients": clients, "answers": len(questions), "seconds": wall, "answers_per_s": len(questions) / wall,
            "latency_p50_s": statistics.median(latencies), "latency_max_s": max(latencies),
            "healthz_max_ms": 1000 * max(probes["healthz"], default=0),
            "search_p50_ms": 1000 * statistics.median(probes["search"]) if probes["search"] else 0.0,
            "search_max_ms": 1000 * max(probes["search"], default=0)}


def drop_from_page_cache(settings: Settings) -> int:
    """Drop the generator's int8 weights, the ONNX embedder and the venv's shared libraries from the page cache
    (only these files: the machine may be shared); the bytes dropped. Pages other processes map stay."""
    from app.generation.model_files import int8_directory

    folders = [int8_directory(settings.model, settings.cache_dir), settings.cache_dir / "embeddings", Path(sys.prefix)]
    dropped = 0
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else ():
            if path.is_file() and (path.suffix in (".safetensors", ".onnx", ".so") or ".so." in path.name):
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    dropped += path.stat().st_size
                finally:
                    os.close(fd)
    return dropped


def measure_cold_page_cache(env: dict[str, str], log_path: Path, settings: Settings, questions: Sequence[str]) -> dict:
    """Start with the model files out of the page cache: seconds to ready, then the first /ask against later ones."""
    dropped = drop_from_page_cache(settings)
    with running_server(env, log_path, extra_args=["--no-access-log"]) as (client, _, seconds):
        first, _ = ask(client, questions[0])
        later = [ask(client, q)[0] for q in questions[1:]]
    p50 = statistics.median(later)
    return {"dropped_gb": dropped / 1e9, "ready_s": seconds, "first_ask_s": first, "later_p50_s": p50,
            "later_answers": len(later), "first_over_p50": first / p50}


def ingest(folder: Path, index_dir: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "ingest", str(folder), "--index", str(index_dir)],
                            cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"error: ingest failed: {result.stderr[-2000:]}")


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run(args: argparse.Namespace) -> dict:
    folder, questions = pick_questions(args)
    if not folder.is_dir():
        raise SystemExit(f"error: {folder} is not a folder")
    settings = Settings().model_copy(update={"model": args.model})
    # Every cache (converted weights, int8 weights, ONNX embedder) is warm before any timed start.
    subprocess.run([sys.executable, "-m", "app.prepare"], env={**os.environ, "RAGQA_MODEL": args.model}, check=True)
    results: dict = {"command": "python -m bench.serve " + " ".join(sys.argv[1:]), "model": args.model,
                     "folder": str(folder), "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, "
                     f"Python {platform.python_version()}", "load_average_before": load_average()}
    with tempfile.TemporaryDirectory(prefix="ragqa-bench-serve-") as tmp:
        index_dir = Path(tmp) / "index"
        print(f"indexing {folder} ...", file=sys.stderr)
        ingest(folder, index_dir)
        env = {"RAGQA_INDEX_DIR": str(index_dir), "RAGQA_MODEL": args.model,
               **({"RAGQA_BATCH_MAX_SIZE": str(args.batch_size)} if args.batch_size else {}),
               "RAGQA_QUEUE_SIZE": str(max(32, 2 * args.clients)), "RAGQA_QUEUE_TIMEOUT_S": "600",
               "RAGQA_INDEX_RELOAD_SECONDS": "0"}
        starts = []
        for n in range(args.starts):
            print(f"cold start {n + 1}/{args.starts} ...", file=sys.stderr)
            with running_server(env, Path(tmp) / "server.log", extra_args=["--no-access-log"]) as (_, _, seconds):
                starts.append(seconds)
        results["cold_start_s"] = {"median": statistics.median(starts), "all": starts}
        print("cold page cache start, first /ask ...", file=sys.stderr)
        results["cold_page_cache"] = measure_cold_page_cache(env, Path(tmp) / "server.log", settings,
                                                             questions[:args.samples + 1])
        with running_server(env, Path(tmp) / "server.log", extra_args=["--no-access-log"]) as (client, _, _):
            ask(client, questions[0])  # first request pays one-time costs (thread pools, allocator)
            print("overhead ...", file=sys.stderr)
            results["overhead"] = measure_overhead(client, index_dir, settings, questions[:args.samples])
            print("time to first token ...", file=sys.stderr)
            firsts = [s for s in (first_token_seconds(client, q) for q in questions[:args.samples]) if s is not None]
            results["first_token"] = {"streams": len(firsts), "p50_s": statistics.median(firsts) if firsts else None,
                                      "max_s": max(firsts, default=None)}
            print("throughput, 1 client ...", file=sys.stderr)
            one = measure_throughput(client, questions[:args.requests], 1)
            print(f"throughput, {args.clients} clients ...", file=sys.stderr)
            many = measure_throughput(client, questions[:args.requests], args.clients)
            results["throughput"] = {"one": one, "many": many, "ratio": many["answers_per_s"] / one["answers_per_s"]}
    results["load_average_after"] = load_average()
    return results


def table(r: dict) -> str:
    o, t, f, c = r["overhead"], r["throughput"], r["first_token"], r["cold_page_cache"]
    one, many = t["one"], t["many"]
    rows = [
        ("cold start (spawn → /readyz 200), median of " + str(len(r["cold_start_s"]["all"])),
         f"{r['cold_start_s']['median']:.2f} s", "≤ 5 s"),
        (f"cold page cache ({c['dropped_gb']:.1f} GB of model files and libraries dropped) → /readyz 200",
         f"{c['ready_s']:.2f} s", "≤ 10 s"),
        (f"first /ask after that ready / p50 of the {c['later_answers']} next "
         f"({c['first_ask_s']:.2f} s / {c['later_p50_s']:.2f} s)", f"**{c['first_over_p50']:.2f}×**", "≤ 1.5×"),
        (f"/ask overhead p50 ({o['answers_compared']} answers; end-to-end {o['end_to_end_p50_s']:.2f} s, "
         f"generate {o['generate_p50_s']:.2f} s)", f"{o['overhead_p50_ms']:.0f} ms ({o['overhead_p50_pct']:.1f}%)",
         "≤ 5% or ≤ 50 ms"),
        ("… of which: HTTP and JSON / retrieval, evidence and queue / served minus direct generate (p50)",
         f"{o['http_p50_ms']:.0f} / {o['retrieval_evidence_queue_p50_ms']:.0f} / "
         f"{o['served_minus_direct_generate_p50_ms']:.0f} ms",
         ""),
        (f"time to first token p50 ({f['streams']} streams)", f"{f['p50_s']:.2f} s" if f["p50_s"] else "n/a", "≤ 1.5 s"),
        (f"throughput, 1 client ({one['answers']} answers)", f"{one['answers_per_s']:.3f} answers/s", ""),
        (f"throughput, {many['clients']} clients", f"{many['answers_per_s']:.3f} answers/s", ""),
        (f"throughput ratio {many['clients']} clients / 1", f"**{t['ratio']:.2f}×**", "≥ 2.5×"),
        (f"latency p50 / max with {many['clients']} clients (starvation)",
         f"{many['latency_p50_s']:.1f} s / {many['latency_max_s']:.1f} s", ""),
        (f"/healthz max, /search p50 / max during {many['clients']}-client generation",
         f"{many['healthz_max_ms']:.0f} ms, {many['search_p50_ms']:.0f} / {many['search_max_ms']:.0f} ms", ""),
    ]
    lines = [f"`{r['command']}` — model {r['model']}, index of {r['folder']}; {r['machine']}; "
             f"load average before / after: {r['load_average_before']} → {r['load_average_after']}; "
             f"same answer in-process and served: {o['same_answers']}/{o['answers_compared']}",
             "", "| measure | value | target |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    use_offline_models()
    args = parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.samples < 1 or args.starts < 1:
        print("error: --clients, --requests, --samples and --starts must be at least 1", file=sys.stderr)
        return 2
    try:
        results = run(args)
    except ServerFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
