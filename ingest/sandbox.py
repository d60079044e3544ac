"""Reads files with a time limit: loaders run in one reusable worker process that is killed when a file
takes longer than `RAGQA_MAX_FILE_SECONDS`, so a pathological file is skipped with a reason instead of
hanging ingest. Any error a loader did not foresee also becomes a skip reason, never a crash.
"""
from __future__ import annotations

import atexit
import multiprocessing
import threading
from pathlib import Path

from ingest.loaders import LoadedText, UnreadableFile, loader_for


def load_safely(path: Path, data: bytes) -> LoadedText:
    """The file's loader, in this process; every failure is an `UnreadableFile` with a reason."""
    loader = loader_for(path)
    if loader is None:
        raise UnreadableFile(f"unsupported format {path.suffix or '(none)'}")
    try:
        return loader(data)
    except UnreadableFile:
        raise
    except RecursionError:
        raise UnreadableFile("too deeply nested to read") from None
    except MemoryError:
        raise UnreadableFile("needs too much memory to read") from None
    except Exception as exc:  # a loader library's own bug or an input it did not expect
        raise UnreadableFile(f"cannot be read ({type(exc).__name__}: {exc})"[:300]) from None


def _serve(connection) -> None:
    """Worker loop: (name, bytes) in, ("ok", LoadedText) or ("unreadable", reason) out."""
    while True:
        try:
            name, data = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", load_safely(Path(name), data)))
        except UnreadableFile as exc:
            connection.send(("unreadable", str(exc)))


class _Worker:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that runs torch threads
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), name="ragqa-loader", daemon=True)
        self.process.start()
        child.close()

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


_lock = threading.Lock()
_worker: _Worker | None = None


def load_within(path: Path, data: bytes, seconds: float) -> LoadedText:
    """Load `data` as the file `path`, giving up after `seconds` (0: no limit, in this process)."""
    global _worker
    if not seconds:
        return load_safely(path, data)
    with _lock:  # one file at a time through the one worker
        if _worker is None or not _worker.process.is_alive():
            _worker = _Worker()
        worker = _worker
        try:
            worker.connection.send((path.name, data))
            if worker.connection.poll(seconds):
                status, payload = worker.connection.recv()
                if status == "ok":
                    return payload
                raise UnreadableFile(payload)
        except (EOFError, OSError, BrokenPipeError):
            worker.stop()
            _worker = None
            raise UnreadableFile("the reader process died on this file") from None
        worker.stop()  # still busy with the file: kill it; the next file gets a fresh worker
        _worker = None
        raise UnreadableFile(f"took longer than the limit of {seconds:g} s to read (RAGQA_MAX_FILE_SECONDS)")


def reader_pid() -> int | None:
    """The reader process's id while one runs (benchmarks read its memory)."""
    worker = _worker
    return worker.process.pid if worker is not None and worker.process.is_alive() else None


@atexit.register
def stop_reader() -> None:
    """Stop the reader process, if one runs (at exit; benchmarks call it to read its peak memory)."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.stop()
            _worker = None
