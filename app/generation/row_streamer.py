"""Splits a batched `generate` call's token stream into text pieces per row, and stops each row at its own budget."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from transformers import StoppingCriteria
from transformers.generation.streamers import BaseStreamer

from app.generation.base import TextSink


class RowStreamer(BaseStreamer):
    """Receives each step's new tokens (one per row) and hands every row's new text to its sink.

    Text is decoded from all of a row's tokens so far and only the new suffix is sent; a suffix
    ending in an incomplete multi-byte character waits for the next token.
    """

    def __init__(self, tokenizer, sinks: Sequence[TextSink | None], end_ids: set[int], budgets: Sequence[int]) -> None:
        self.tokenizer = tokenizer
        self.sinks = list(sinks)
        self.end_ids = end_ids
        self.budgets = list(budgets)
        self.tokens: list[list[int]] = [[] for _ in sinks]
        self.sent = [""] * len(sinks)
        self.finished = [False] * len(sinks)
        self.prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate first hands over the prompt: (batch, width)
            self.prompt_seen = True
            return
        for row, token in enumerate(value.reshape(-1).tolist()):  # (batch,)
            if self.finished[row]:
                continue
            if token in self.end_ids:
                self.finished[row] = True
                continue
            self.tokens[row].append(token)
            if len(self.tokens[row]) >= self.budgets[row]:
                self.finished[row] = True
            self._send_new_text(row)

    def end(self) -> None:
        pass

    def _send_new_text(self, row: int) -> None:
        sink = self.sinks[row]
        if sink is None:
            return
        text = self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)
        if text.endswith("\ufffd") and not self.finished[row]:
            return
        if len(text) > len(self.sent[row]) and text.startswith(self.sent[row]):
            sink(text[len(self.sent[row]):])
            self.sent[row] = text


class RowBudgets(StoppingCriteria):
    """Marks a row done once it has its own number of new tokens (the batch runs to the largest budget)."""

    def __init__(self, prompt_width: int, budgets: Sequence[int]) -> None:
        self.prompt_width = prompt_width
        self.budgets = torch.tensor(list(budgets))  # (batch,)

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        return (input_ids.shape[1] - self.prompt_width) >= self.budgets  # (batch,)
