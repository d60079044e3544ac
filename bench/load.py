"""`python -m bench.load`: the service under load, on loopback only, bounded in clients and time.

Starts a real uvicorn server over an index of `docs/` (built first), measures each route alone (one
client, the reference), then runs N concurrent clients for S seconds mixing `/ask`, `/search` and
`/healthz`. Reports requests per status code, p50/p99 latency per route (and as a ratio of the same
route unloaded), and the server's resident memory sampled every second (peak, and growth after warm-up).
Targets: no 5xx but 503, `/healthz` p99 <= 100 ms, memory flat after warm-up.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import psutil

from bench.server_process import ServerFailed, running_server
from core.environment import use_offline_models

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "How do I ingest my own folder?", "What does RAGQA_MAX_BODY_BYTES do?", "Which file formats are supported?",
    "How do I run ragqa in Docker?", "What happens to files that cannot be read?", "Which port does the service use?",
    "What does /readyz return before the index is loaded?", "How are API keys configured?",
]
QUERIES = ["ingest a folder", "API keys", "Docker volumes", "retrieval mode hybrid", "skipped files", "readiness"]
# Mix of routes per request: questions are the expensive ones.
ROUTES = (("/ask", 0.25), ("/search", 0.35), ("/healthz", 0.40))
WARM_UP_FRACTION = 0.25  # memory growth is measured after this share of the run


def _request(route: str, rng: random.Random) -> tuple[str, str, dict | None]:
    if route == "/ask":
        return "POST", route, {"question": rng.choice(QUESTIONS)}
    if route == "/search":
        return "POST", route, {"query": rng.choice(QUERIES)}
    return "GET", route, None


async def _one(client: httpx.AsyncClient, route: str, rng: random.Random) -> tuple[str, str, float]:
    method, path, body = _request(route, rng)
    started = time.perf_counter()
    try:
        response = await client.request(method, path, json=body)
        status = str(response.status_code)
    except httpx.TimeoutException:
        status = "timeout"
    except httpx.TransportError as exc:
        status = f"error:{type(exc).__name__}"
    return route, status, (time.perf_counter() - started) * 1000


async def _reference(base_url: str, per_route: int) -> dict[str, list[float]]:
    """Each route alone, one request at a time: what the loaded latencies are compared with."""
    rng, latencies = random.Random(1), defaultdict(list)
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        for route, _ in ROUTES:
            for _ in range(per_route):
                _, status, ms = await _one(client, route, rng)
                if status == "200":
                    latencies[route].append(ms)
    return latencies


async def _load(base_url: str, clients: int, seconds: float, server: psutil.Process, seed: int, timeout: float) -> dict:
    results: list[tuple[str, str, float, float]] = []  # route, status, ms, seconds since start
    memory: list[tuple[float, float]] = []  # seconds since start, RSS MiB
    started = time.monotonic()
    deadline = started + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(number: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 1000 + number)
        routes, weights = zip(*ROUTES)
        while time.monotonic() < deadline:
            route, status, ms = await _one(client, rng.choices(routes, weights)[0], rng)
            results.append((route, status, ms, time.monotonic() - started))
            if status == "503":
                await asyncio.sleep(min(1.0, deadline - time.monotonic()) if time.monotonic() < deadline else 0)

    async def sample_memory() -> None:
        while time.monotonic() < deadline:
            try:
                rss = server.memory_info().rss + sum(c.memory_info().rss for c in server.children(recursive=True))
            except psutil.Error:
                return
            memory.append((time.monotonic() - started, rss / 2**20))
            await asyncio.sleep(1.0)

    # The request timeout bounds a hang: a request that gets no answer in it counts as "timeout".
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        await asyncio.gather(sample_memory(), *(client_loop(n, client) for n in range(clients)))
    return {"results": results, "memory": memory, "seconds": time.monotonic() - started}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 1)


def summarise(run: dict, reference: dict[str, list[float]], clients: int, seconds: float, model: str) -> dict:
    by_route: dict[str, dict] = {}
    for route, _ in ROUTES:
        rows = [r for r in run["results"] if r[0] == route]
        ok = [r[2] for r in rows if r[1] == "200"]
        by_route[route] = {
            "requests": len(rows), "status": dict(Counter(r[1] for r in rows)),
            "p50_ms": _percentile(ok, 50), "p99_ms": _percentile(ok, 99),
            "p99_all_ms": _percentile([r[2] for r in rows], 99),
            "unloaded_p50_ms": _percentile(reference.get(route, []), 50),
        }
        unloaded = by_route[route]["unloaded_p50_ms"]
        if unloaded and by_route[route]["p50_ms"]:
            by_route[route]["p50_vs_unloaded"] = round(by_route[route]["p50_ms"] / unloaded, 1)
    statuses = Counter(r[1] for r in run["results"])
    memory = run["memory"]
    after_warm_up = [m for t, m in memory if t >= WARM_UP_FRACTION * seconds]
    server_errors = sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500 and s != "503")
    return {
        "clients": clients, "seconds": round(run["seconds"], 1), "model": model, "requests": len(run["results"]),
        "status": dict(statuses), "routes": by_route,
        "rss_mib": {"peak": round(max(m for _, m in memory), 1) if memory else None,
                    "after_warm_up_first": round(after_warm_up[0], 1) if after_warm_up else None,
                    "after_warm_up_last": round(after_warm_up[-1], 1) if after_warm_up else None,
                    "after_warm_up_growth": round(after_warm_up[-1] - after_warm_up[0], 1) if after_warm_up else None,
                    "samples": [[round(t, 1), round(m, 1)] for t, m in memory]},
        "targets": {"no_5xx_but_503": server_errors == 0 and not any(not s.isdigit() for s in statuses),
                    "healthz_p99_le_100ms": (by_route["/healthz"]["p99_all_ms"] or 1e9) <= 100},
    }


def markdown(report: dict) -> str:
    rss = report["rss_mib"]
    lines = [f"{report['clients']} clients for {report['seconds']} s, model {report['model']}: {report['requests']} requests, "
             f"status {json.dumps(report['status'])}; server RSS peak {rss['peak']} MiB, after warm-up "
             f"{rss['after_warm_up_first']} → {rss['after_warm_up_last']} MiB; targets {json.dumps(report['targets'])}", "",
             "| route | requests | status counts | p50 ms (200) | p99 ms (200) | p99 ms (all) | unloaded p50 ms | p50 ratio |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for route, r in report["routes"].items():
        lines.append(f"| {route} | {r['requests']} | {json.dumps(r['status'])} | {r['p50_ms']} | {r['p99_ms']} | "
                     f"{r['p99_all_ms']} | {r['unloaded_p50_ms']} | {r.get('p50_vs_unloaded')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    use_offline_models()
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (1-200, default 50)")
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs (1-600, default 60)")
    parser.add_argument("--model", default=None, help="generator profile (default: RAGQA_MODEL)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="folder to index (default: docs/)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds a request may take before it counts as a hang (default 180, beyond the queue's own limit)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 600:
        parser.error("--clients must be 1-200 and --seconds 1-600")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if args.model:
        env["RAGQA_MODEL"] = args.model
    with tempfile.TemporaryDirectory(prefix="ragqa-load-") as tmp:
        env["RAGQA_INDEX_DIR"] = str(Path(tmp) / "index")
        ingest = subprocess.run([sys.executable, "-m", "ingest", str(args.docs)], cwd=ROOT, env=env,
                                capture_output=True, text=True)
        if ingest.returncode != 0:
            print(f"error: ingest failed: {ingest.stderr.strip()}", file=sys.stderr)
            return 1
        try:
            with running_server(env, Path(tmp) / "server.log") as (client, server, _):
                base_url = str(client.base_url).rstrip("/")
                reference = asyncio.run(_reference(base_url, per_route=5))
                run = asyncio.run(_load(base_url, args.clients, args.seconds, psutil.Process(server.pid), args.seed,
                                       args.timeout))
                model = httpx.get(f"{base_url}/readyz", timeout=30).json().get("model", "?")
        except ServerFailed as exc:
            print(f"error: {exc}\n" + (Path(tmp) / "server.log").read_text(), file=sys.stderr)
            return 1
    report = summarise(run, reference, args.clients, args.seconds, model)
    print(markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
