"""Atomic file replacement: write a sibling temp file, fsync it, rename over the target, fsync the folder."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def replace_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)`, then make it `target` in one rename; a crash leaves the old file intact."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_text_atomically(target: Path, text: str) -> None:
    replace_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
