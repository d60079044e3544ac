"""`python -m app.prepare`: make the configured models ready offline, so a start only loads caches.

Quantizes the GGUF generator to int8 once, in memory (`RAGQA_MODEL_PRECISION=int8`, no float32 copy on
disk), or converts it to float32 once; exports the embedder to ONNX once (`RAGQA_EMBEDDING_BACKEND=onnx…`);
and saves the attention cache of the answer prompt's shared prefix (system prompt and worked examples)
beside the weights, so a start loads it instead of computing it (the warm-up before ready is shorter).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from app.answering.prompt import build_messages
from app.generation.factory import load_local_generator
from app.generation.model_files import ModelNotFoundError, int8_directory, model_directory
from app.generation.prefix_cache import PREFIX_FILE, common_start, saved_prefix_ids
from core.environment import use_offline_models
from core.settings import Settings
from index.embedder import Embedder, resolve_embedding_model
from index.types import Hit

# Two prompts as the answerer builds them: what they share is what every answer's prompt starts with.
_PREFIX_SAMPLES = (
    ("Who built the lighthouse?", "The lighthouse was built in 1872 by the engineer Ada Brook."),
    ("How long does the dough rest?", "The dough rests for twelve hours before it is baked."),
)


def prompt_prefix_samples() -> list[list[dict[str, str]]]:
    return [build_messages(question, [Hit(0, "sample.txt", text, 0, len(text), 0.0, 0.0)])
            for question, text in _PREFIX_SAMPLES]


def save_prompt_prefix(settings: Settings, weights_dir: Path) -> str:
    """Saves the shared prompt prefix's attention cache beside the weights, unless the one there is current."""
    from transformers import AutoTokenizer

    path = weights_dir / PREFIX_FILE
    samples = prompt_prefix_samples()
    tokenizer = AutoTokenizer.from_pretrained(weights_dir)
    prompts = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
               for m in samples]
    if saved_prefix_ids(path) == list(prompts[0][:common_start(*prompts)]):
        return "current"
    path.unlink(missing_ok=True)  # a stale prefix is not loaded while the new one is learnt
    generator = load_local_generator(settings.model, settings.cache_dir, settings.torch_threads, settings.model_precision,
                                     settings.int8_kernel)
    return "saved" if generator.save_prefix(samples) else "not saved (read-only model directory)"


def main() -> int:
    use_offline_models()
    settings = Settings()
    started = time.perf_counter()
    try:
        embedder_dir = resolve_embedding_model(settings.embedding_model)
        backends = {settings.embedding_backend, settings.evidence_embedding_backend, settings.document_embedding_backend}
        for backend in backends - {"torch", "index"}:
            Embedder(settings.embedding_model, backend=backend, cache_dir=settings.cache_dir)  # exports it once
        if settings.model_precision == "int8":
            from app.generation.quantization import load_int8_model

            load_int8_model(settings.model, settings.cache_dir)  # quantizes and caches it, once
            generator_dir = int8_directory(settings.model, settings.cache_dir)
        else:
            generator_dir = model_directory(settings.model, settings.cache_dir)
        prefix = save_prompt_prefix(settings, generator_dir)
    except (ModelNotFoundError, ValueError, RuntimeError) as exc:
        print(f"prepare: error: {exc}", file=sys.stderr)
        return 2
    print(f"prepare: embedder {settings.embedding_model} at {embedder_dir} ({settings.embedding_backend})")
    print(f"prepare: generator {settings.model} at {generator_dir} ({settings.model_precision}; "
          f"{time.perf_counter() - started:.1f} s; prompt prefix {prefix})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
