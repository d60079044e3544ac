"""Generators: the `Generator` protocol, prompt building, and the transformers implementation."""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
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


def passages_within(hits: Sequence[Hit], max_context_chars: int) -> list[Hit]:
    """The best hits whose text fits the prompt budget (always at least one)."""
    kept, used = [], 0
    for hit in hits:
        if kept and used + len(hit.text) > max_context_chars:
            break
        kept.append(hit)
        used += len(hit.text)
    return kept


# Chat-template control tokens (<|im_start|>, <|eot_id|>, ...): written in a document or a question they
# would be read as real turn boundaries, letting the text forge a system turn. They are removed.
_CONTROL_TOKEN = re.compile(r"<\|[^|<>\s]{1,40}\|>")


def as_data(text: str) -> str:
    """Text from a document or a user, stripped of chat-template control tokens."""
    return _CONTROL_TOKEN.sub("", text)


def _user_turn(question: str, passages: Sequence[str]) -> str:
    numbered = [f"[{n}] {as_data(text)}" for n, text in enumerate(passages, start=1)]
    return "Passages:\n\n" + "\n\n".join(numbered) + f"\n\nQuestion: {as_data(question)}"


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
    """A Hugging Face causal LM on the CPU: chat template, greedy decoding, bounded new tokens.

    A batch is left-padded (with an attention mask) so every row's prompt ends where generation
    begins; each row stops at its own token budget or end-of-sequence token.
    """

    def __init__(self, model_dir: Path, name: str, threads: int = 0, reuse_prefix: bool = True,
                 precision: str = "float32", cache_dir: Path | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from app.prefix_cache import PrefixCache

        hf_logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        self.name = name
        self.model_dir = model_dir
        self.precision = precision
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if precision == "int8":
            from app.quantization import load_int8_model

            if cache_dir is None:
                raise ValueError("int8 weights need a cache directory")
            self.model = load_int8_model(model_dir, cache_dir)
        else:
            self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        self.model.eval()
        self.pad_token_id = self.tokenizer.pad_token_id
        if self.pad_token_id is None:
            self.pad_token_id = self.tokenizer.eos_token_id
        self._torch = torch
        self._lock = threading.Lock()  # one generation at a time per model
        self._prefix = PrefixCache(self.model) if reuse_prefix else None

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> Generation:
        return self.generate_batch([GenerationRequest(messages, max_new_tokens)])[0]

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        from app.row_streamer import RowBudgets, RowStreamer

        torch = self._torch
        # Each prompt tokenized on its own (exactly as a batch of one would be). The prefix all of them
        # share comes from the prefix cache; the rest of each is left-padded after it:
        # [shared prefix][padding][own tokens] (positions come from the attention mask, so padding is skipped).
        prompts = [self.tokenizer.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=True, return_dict=True)
                   ["input_ids"] for r in requests]
        budgets = [r.max_new_tokens for r in requests]
        end_ids = self._end_token_ids()
        streamer = RowStreamer(self.tokenizer, [r.on_text for r in requests], end_ids, budgets)
        with self._lock, torch.inference_mode():
            shared = self._prefix.prefix_for(prompts) if self._prefix else 0
            rests = [list(p[shared:]) for p in prompts]
            rest_width = max(len(r) for r in rests)
            width = shared + rest_width
            prefix = list(prompts[0][:shared])
            input_ids = torch.tensor([prefix + [self.pad_token_id] * (rest_width - len(r)) + r for r in rests])  # (batch, width)
            attention_mask = torch.tensor([[1] * shared + [0] * (rest_width - len(r)) + [1] * len(r) for r in rests])
            output = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                cache=self._prefix.copy_for(len(requests)) if shared else None,
                max_new_tokens=max(budgets),
                stopping_criteria=[RowBudgets(width, budgets)],
                do_sample=False,
                pad_token_id=self.pad_token_id,
                streamer=streamer if any(r.on_text for r in requests) else None,
            )
        generations = []
        for row, (prompt, budget) in enumerate(zip(prompts, budgets)):
            new = output[row][width:].tolist()[:budget]
            for position, token in enumerate(new):  # a finished row is padded until the batch ends
                if token in end_ids:
                    new = new[:position + 1]
                    break
            text = self.tokenizer.decode(new, skip_special_tokens=True).strip()
            generations.append(Generation(text, len(prompt), len(new)))
        return generations

    def _end_token_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids


def load_generator(model: str, cache_dir: Path, threads: int = 0, precision: str = "float32") -> Generator:
    """The generator `RAGQA_MODEL` names, loaded once (GGUF converted on first use)."""
    from app.model_files import model_directory

    return TransformersGenerator(model_directory(model, cache_dir), name=model, threads=threads,
                                 precision=precision, cache_dir=cache_dir)


def generator_from_settings(settings) -> Generator:
    """The local generator the settings name: model, weights precision, torch threads."""
    return load_generator(settings.model, settings.cache_dir, settings.torch_threads, settings.model_precision)
