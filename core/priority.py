"""Runs the heavy work (embedding, generation, model loading) at a lower CPU priority than the event loop.

On a small CPU the model's threads keep every core busy. The event loop needs little CPU, but when
it has to queue behind them, even `/healthz` waits. Linux gives each thread its own nice value, and
a thread may always lower its own priority, so each worker thread lowers itself the first time it
does heavy work; threads it starts (torch's and ONNX Runtime's pools) inherit the value. The event
loop thread keeps the default priority and runs as soon as it has something to do.
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)
_lowered = threading.local()


def lower_this_thread(nice: int) -> None:
    """Raise this thread's nice value to `nice` (0 leaves it alone); once per thread, never fatal."""
    if nice <= 0 or getattr(_lowered, "done", False):
        return
    _lowered.done = True
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        if current < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except (AttributeError, OSError) as exc:  # not Linux, or not permitted: run at the normal priority
        log.debug("could not lower thread priority: %s", exc)


def at_low_priority(nice: int, work: Callable[..., T], *args) -> T:
    """`work(*args)`, in this (worker) thread lowered to `nice` first; for `to_thread.run_sync`."""
    lower_this_thread(nice)
    return work(*args)
