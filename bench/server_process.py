"""A real `ragqa` server in a child process: started on a free loopback port, waited for, and stopped.

The one copy of "start uvicorn, wait for /readyz, stop it", shared by the benchmarks (`bench.serve`,
`bench.load`) and the end-to-end tests. Its output goes to a file: a pipe nobody reads would stall a
server that logs every request.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
UVICORN = [sys.executable, "-m", "uvicorn", "app.main:app"]
T = TypeVar("T")


class ServerFailed(RuntimeError):
    """The server exited, reported a loading error, or did not become ready in time; the message says which."""


class Served(NamedTuple):
    client: httpx.Client  # bound to the server's base URL
    process: subprocess.Popen
    ready_s: float  # seconds from spawn to /readyz 200 (to /healthz 200 when not waiting for ready)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll `predicate` until it returns something truthy (connection errors count as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if result:
                return result
        except httpx.TransportError:
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def running_server(env: dict[str, str], log_path: Path, *, ready: bool = True, command: Sequence[str] | None = None,
                   extra_args: Sequence[str] = (), timeout: float = 600) -> Iterator[Served]:
    """A server with `env` added to the environment and its output appended to `log_path`.

    Waits for `/readyz` 200 when `ready` (else for `/healthz`), and raises `ServerFailed` as soon as the
    process exits or `/readyz` reports an error. `command` replaces `python -m uvicorn app.main:app`
    (e.g. `ragqa serve`); `--host`, `--port` and `extra_args` are appended. Stopped with SIGTERM on exit.
    """
    port = free_port()
    with open(log_path, "ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen([*(command or UVICORN), "--host", "127.0.0.1", "--port", str(port), *extra_args],
                                   cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
    try:
        _wait_until_up(client, process, "/readyz" if ready else "/healthz", started + timeout, log_path)
        yield Served(client, process, time.perf_counter() - started)
    finally:
        client.close()
        stop(process)


def _wait_until_up(client: httpx.Client, process: subprocess.Popen, route: str, deadline: float, log_path: Path) -> None:
    while True:
        if process.poll() is not None:
            raise ServerFailed(f"the server exited with {process.returncode}; its log: {log_path}")
        if time.perf_counter() > deadline:
            raise ServerFailed(f"the server did not answer {route} 200 in time; its log: {log_path}")
        try:
            response = client.get(route)
            if response.status_code == 200:
                return
            if route == "/readyz" and response.json().get("status") == "error":
                raise ServerFailed(f"the server failed to load: {response.json().get('detail')}")
        except httpx.TransportError:
            pass
        time.sleep(0.05)


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
