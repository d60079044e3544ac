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

# Short, extractive answers: small models stay grounded when they copy a phrase rather than write
# prose, and the quote (app.grounding) gives the reader the whole supporting sentence.
SYSTEM_PROMPT = (
    "Answer the question using only the passages. Reply with the shortest exact phrase copied from the "
    "passages that answers it (a name, number, date or short phrase), without a full sentence or explanation. "
    "If the passages do not contain the answer, reply: I don't know."
)
# Worked examples, shown to the model as earlier turns (measured in bench/RESULTS.md): a fact,
# and a how-to whose answer is the instruction itself.
EXAMPLES = (
    ("Whose company designed the Eiffel Tower?",
     "The Eiffel Tower was completed in 1889 as the entrance arch of the World's Fair in Paris. "
     "It was designed by the engineering company of Gustave Eiffel and is 330 metres tall.",
     "Gustave Eiffel"),
    ("How do I reset the router?",
     "The router has two lights on its front. To reset the router, hold the reset button for ten seconds. "
     "Resetting erases the saved Wi-Fi password.",
     "hold the reset button for ten seconds"),
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


def _user_turn(question: str, passages: Sequence[str]) -> str:
    numbered = [f"[{n}] {text}" for n, text in enumerate(passages, start=1)]
    return "Passages:\n\n" + "\n\n".join(numbered) + f"\n\nQuestion: {question}"


def build_messages(question: str, passages: Sequence[Hit]) -> list[dict[str, str]]:
    """Instruction, worked examples, then the passages numbered [1]..[n] and the question.

    Passages come best first; the prompt lists them best *last*, nearest the question, which
    small models use more reliably.
    """
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    for example_question, example_passage, example_answer in EXAMPLES:
        messages.append({"role": "user", "content": _user_turn(example_question, [example_passage])})
        messages.append({"role": "assistant", "content": example_answer})
    messages.append({"role": "user", "content": _user_turn(question, [hit.text for hit in reversed(passages)])})
    return messages


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
