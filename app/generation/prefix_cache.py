"""Keeps the attention cache of the prompt prefix that every request shares, so a prefill computes only the rest.

Every answer's prompt starts with the same system prompt and worked examples (over half of its
tokens), and on a CPU the prompt's prefill is most of an answer's time. The cache holds that
prefix's keys and values once; each batch starts from a copy of it. The shared prefix is learnt
from the prompts themselves (their longest common start), so it follows any prompt change.
A learnt prefix can be saved beside the model (`app.prepare` does, once) and loaded at start, so the
first question after a start pays no prefill of it either; a saved prefix that no longer matches the
prompts is dropped by the same longest-common-start rule.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import torch

PREFIX_FILE = "prompt-prefix.pt"  # beside a model's weights: the saved prefix of its prompts


def saved_prefix_ids(path: Path) -> list[int] | None:
    """The token ids of the prefix saved at `path`, or None when there is none readable."""
    try:
        return [int(i) for i in torch.load(path, weights_only=True)["ids"]]
    except Exception:  # noqa: BLE001 - any unreadable file (torch raises pickle, zip, OS errors): none saved
        return None


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

    def save(self, path: Path) -> bool:
        """Writes the learnt prefix (token ids, keys and values) to `path`; False when there is none or it cannot be written."""
        if self.cache is None:
            return False
        layers = [(layer.keys, layer.values) for layer in self.cache.layers]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            torch.save({"ids": self.ids, "layers": layers}, partial)
            partial.replace(path)
        except OSError:
            return False
        return True

    def load(self, path: Path) -> bool:
        """Takes a prefix saved by `save`; False (and nothing changes) when there is none or it is unreadable."""
        from transformers import DynamicCache

        try:
            saved = torch.load(path, weights_only=True)
            cache = DynamicCache(ddp_cache_data=[(k, v) for k, v in saved["layers"]])
            ids = [int(i) for i in saved["ids"]]
        except Exception:  # noqa: BLE001 - any unreadable file is ignored: the prefix is learnt again
            return False
        if len(ids) < self.min_tokens or cache.get_seq_length() != len(ids):
            return False
        self.ids, self.cache = ids, cache
        return True

    def copy_for(self, batch_size: int):
        """A cache for one generate call of `batch_size` rows, starting after the prefix (the stored one stays intact)."""
        cache = copy.deepcopy(self.cache)
        if batch_size > 1:
            cache.batch_repeat_interleave(batch_size)
        return cache
