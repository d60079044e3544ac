"""A real uvicorn process for end-to-end tests: started on a free loopback port, stopped afterwards."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def run_ingest(docs: Path, index_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "ingest", str(docs), "--index", str(index_dir)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


@contextmanager
def running_server(env: dict[str, str], log_path: Path, ready: bool = True,
                   command: list[str] | None = None) -> Iterator[tuple[httpx.Client, subprocess.Popen]]:
    """uvicorn serving app.main:app with `env` added to the environment, its output in `log_path`
    (a file, not a pipe nobody reads, which would block a chatty server); waits for /readyz if `ready`.
    `command` replaces `python -m uvicorn app.main:app` (e.g. `ragqa serve`); `--host` and `--port` are appended."""
    port = free_port()
    command = command or [sys.executable, "-m", "uvicorn", "app.main:app"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
        )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        wait_for(lambda: client.get("/healthz").status_code == 200, 60, "/healthz")
        if ready:
            wait_for(lambda: client.get("/readyz").status_code == 200, 120, "/readyz 200")
        yield client, process
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
