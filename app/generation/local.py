"""The local generator: a Hugging Face causal LM on the CPU (transformers), float32 or int8 weights."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from app.generation.base import Generation, GenerationRequest


class TransformersGenerator:
    """A Hugging Face causal LM on the CPU: chat template, greedy decoding, bounded new tokens.

    A batch is left-padded (with an attention mask) so every row's prompt ends where generation
    begins; each row stops at its own token budget or end-of-sequence token.
    """

    def __init__(self, model_dir: Path | None, name: str, threads: int = 0, reuse_prefix: bool = True,
                 precision: str = "float32", cache_dir: Path | None = None, int8_kernel: str = "auto") -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from app.generation.prefix_cache import PREFIX_FILE, PrefixCache

        hf_logging.disable_progress_bar()
        if threads:
            torch.set_num_threads(threads)
        self.name = name
        self.model_dir = model_dir
        self.precision = precision
        if precision == "int8":  # found (or made once) by RAGQA_MODEL, or the model directory given
            from app.generation.quantization import load_int8_model

            if cache_dir is None:
                raise ValueError("int8 weights need a cache directory")
            from app.generation.model_files import int8_directory

            self.model, self.tokenizer = load_int8_model(str(model_dir or name), cache_dir, int8_kernel)
            weights_dir = int8_directory(str(model_dir or name), cache_dir)
        else:
            weights_dir = Path(model_dir)
            self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
            self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        self.model.eval()
        self.pad_token_id = self.tokenizer.pad_token_id
        if self.pad_token_id is None:
            self.pad_token_id = self.tokenizer.eos_token_id
        self._torch = torch
        self._lock = threading.Lock()  # one generation at a time per model
        self._prefix = PrefixCache(self.model) if reuse_prefix else None
        # The prompt prefix saved beside the weights by `app.prepare` (`save_prefix`), loaded so the first
        # question after a start pays no prefill of it.
        self.prefix_file = weights_dir / PREFIX_FILE
        if self._prefix is not None and self.prefix_file.is_file():
            self._prefix.load(self.prefix_file)

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int) -> Generation:
        return self.generate_batch([GenerationRequest(messages, max_new_tokens)])[0]

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        from app.generation.row_streamer import RowBudgets, RowStreamer

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

    def save_prefix(self, samples: Sequence[list[dict[str, str]]]) -> bool:
        """Learns the prefix the prompts of `samples` share (one token generated for each, in turn) and saves
        it to `prefix_file`; False when it cannot be written (a read-only model directory: it is learnt at run time)."""
        if self._prefix is None:
            return False
        for messages in samples:
            self.generate(messages, 1)
        with self._lock:
            return self._prefix.save(self.prefix_file)

    def _end_token_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids
