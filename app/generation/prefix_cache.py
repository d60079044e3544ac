"""Keeps the attention cache of the prompt prefix that every request shares, so a prefill computes only the rest.

Every answer's prompt starts with the same system prompt and worked examples (over half of its
tokens), and on a CPU the prompt's prefill is most of an answer's time. The cache holds that
prefix's keys and values once; each batch starts from a copy of it. The shared prefix is learnt
from the prompts themselves (their longest common start), so it follows any prompt change.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import torch


def common_start(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class PrefixCache:
    """The cached prefix (token ids and their key/value cache) of one model; used under the model's lock."""

    def __init__(self, model, min_tokens: int = 32) -> None:
        self.model = model
        self.min_tokens = min_tokens
        self.ids: list[int] = []
        self.cache = None

    def prefix_for(self, prompts: Sequence[Sequence[int]]) -> int:
        """How many leading tokens of every prompt the cache now holds (0: none worth reusing).

        Each prompt keeps at least one token of its own to prefill, so generation has logits to start from.
        """
        longest = min(len(p) for p in prompts) - 1
        shared = min([common_start(self.ids, p) for p in prompts] + [longest])
        if shared >= self.min_tokens:
            if shared < len(self.ids):  # the batch shares less than the cache holds: keep only that part
                self.cache.crop(shared - len(self.ids))
                self.ids = self.ids[:shared]
            return shared
        # Nothing reusable: learn a new prefix from this batch (for a single prompt, all but its last token;
        # the next prompt then shrinks it to what they really share).
        first = prompts[0]
        shared = min([common_start(first, p) for p in prompts] + [longest])
        if shared < self.min_tokens:
            return 0
        with torch.inference_mode():
            self.cache = self.model(input_ids=torch.tensor([list(first[:shared])]), use_cache=True).past_key_values
        self.ids = list(first[:shared])
        return shared

    def copy_for(self, batch_size: int):
        """A cache for one generate call of `batch_size` rows, starting after the prefix (the stored one stays intact)."""
        cache = copy.deepcopy(self.cache)
        if batch_size > 1:
            cache.batch_repeat_interleave(batch_size)
        return cache
