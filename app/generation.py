"""Generators: the `Generator` protocol, prompt building, and the transformers implementation."""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from index.types import Hit

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You answer questions using only the numbered passages the user gives you. "
    "Answer in one or two short sentences and cite the passages you used like [1]. "
    "If the passages do not contain the answer, reply exactly: I don't know."
)


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    new_tokens: int


class Generator(Protocol):
    """Turns chat messages into an answer. Implementations must be safe to call from one thread at a time."""

    name: str

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> Generation: ...


def passages_within(hits: Sequence[Hit], max_context_chars: int) -> list[Hit]:
    """The best hits whose text fits the prompt budget (always at least one)."""
    kept, used = [], 0
    for hit in hits:
        if kept and used + len(hit.text) > max_context_chars:
            break
        kept.append(hit)
        used += len(hit.text)
    return kept


def build_messages(question: str, passages: Sequence[Hit]) -> list[dict[str, str]]:
    """System instruction, then the passages numbered [1]..[n] with their sources, then the question."""
    numbered = [f"[{n}] (from {hit.source})\n{hit.text}" for n, hit in enumerate(passages, start=1)]
    user = "Passages:\n\n" + "\n\n".join(numbered) + f"\n\nQuestion: {question}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


class TransformersGenerator:
    """A Hugging Face causal LM on the CPU: chat template, greedy decoding, bounded new tokens."""

    def __init__(self, model_dir: Path, name: str, threads: int = 0) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        self.name = name
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        self.model.eval()
        self._torch = torch
        self._lock = threading.Lock()  # one generation at a time per model

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> Generation:
        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        prompt_tokens = int(inputs["input_ids"].shape[1])
        with self._lock, self._torch.inference_mode():
            output = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
            )
        new = output[0][prompt_tokens:]  # (new_tokens,)
        return Generation(self.tokenizer.decode(new, skip_special_tokens=True).strip(), prompt_tokens, int(new.shape[0]))


def load_generator(model: str, cache_dir: Path, threads: int = 0) -> Generator:
    """The generator `RAGQA_MODEL` names, loaded once (GGUF converted on first use)."""
    from app.model_files import model_directory

    return TransformersGenerator(model_directory(model, cache_dir), name=model, threads=threads)
