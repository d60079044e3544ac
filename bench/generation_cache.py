"""A disk cache of generations for benchmark experiments: the same prompt is generated once.

Greedy decoding makes a generation a pure function of (model, messages, max_new_tokens), so
experiments that change only what happens after generation (answer trimming, abstention,
quotes) re-run in seconds. Never used by the service.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from app.generation.base import Generation, GenerationRequest, Generator
from app.generation.quantization import SCHEME


class CachedGenerator:
    """Wraps a generator; remembers each generation in SQLite keyed by a hash of its inputs."""

    def __init__(self, inner: Generator, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        precision = getattr(inner, "precision", "float32")  # float32 keys stay as they were before int8 existed
        self._identity = self.name if precision == "float32" else f"{self.name}@{SCHEME}"
        self.last: Generation | None = None  # the latest generation, for per-question dumps
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS generations "
                         "(key TEXT PRIMARY KEY, text TEXT, prompt_tokens INT, new_tokens INT)")

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> Generation:
        key = hashlib.sha256(json.dumps([self._identity, messages, max_new_tokens]).encode()).hexdigest()
        row = self._db.execute("SELECT text, prompt_tokens, new_tokens FROM generations WHERE key = ?", (key,)).fetchone()
        if row:
            self.last = Generation(*row)
        else:
            self.last = self.inner.generate(messages, max_new_tokens)
            with self._db:
                self._db.execute("INSERT OR REPLACE INTO generations VALUES (?, ?, ?, ?)",
                                 (key, self.last.text, self.last.prompt_tokens, self.last.new_tokens))
        return self.last

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """One at a time through the cache (the harness asks one question at a time anyway)."""
        generations = []
        for request in requests:
            generations.append(self.generate(request.messages, request.max_new_tokens))
            if request.on_text:
                request.on_text(generations[-1].text)
        return generations
