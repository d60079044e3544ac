"""The `Generator` protocol: a batch of chat requests in, one text each out, pieces streamed to an optional sink."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    new_tokens: int


# Receives each new piece of an answer's text as it is generated (from the generating thread).
TextSink = Callable[[str], None]


@dataclass(frozen=True)
class GenerationRequest:
    """One row of a batch: chat messages, a token budget, and optionally where its text pieces go."""

    messages: list[dict[str, str]]
    max_new_tokens: int
    on_text: TextSink | None = None


class Generator(Protocol):
    """Turns chat messages into answers, a batch at a time. Called from one thread at a time.

    `generate_batch` returns one `Generation` per request, in order; a request with `on_text`
    also receives its text in pieces while it is generated (the pieces joined equal the
    returned text up to surrounding whitespace). `generate` is a batch of one.
    """

    name: str

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> Generation: ...

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]: ...
