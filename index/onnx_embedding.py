"""The embedding model on ONNX Runtime: exported once from the local sentence-transformers folder, optionally int8.

The export is the whole sentence-transformers pipeline of a mean-pooling model (transformer, mean
pooling over the attention mask, L2 normalisation) as one ONNX graph, so its vectors match torch's
to ~1e-7. `onnx-int8` quantizes the weights dynamically (ONNX Runtime's `quantize_dynamic`).
Exports are cached under `RAGQA_CACHE_DIR/embeddings/`, keyed by the model folder's path and the
date of its weights, and written atomically; nothing here reaches a model hub.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.atomic import replace_atomically

log = logging.getLogger(__name__)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# A text of this many word-pieces or more keeps every core busy in one run; a shorter one (a sentence) does not,
# and shorter texts run one per core instead (bench/RESULTS.md, session 10).
SHARED_RUN_TOKENS = 128


def check_mean_pooling(model_dir: Path) -> None:
    """Refuse models whose sentence-transformers pipeline this export would not reproduce."""
    modules = json.loads((model_dir / "modules.json").read_text()) if (model_dir / "modules.json").is_file() else []
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    pooling = next((model_dir / m["path"] / "config.json" for m in modules if m["type"].endswith("Pooling")), None)
    mean = pooling is not None and json.loads(pooling.read_text()).get("pooling_mode_mean_tokens", False)
    if kinds[:2] != ["Transformer", "Pooling"] or not mean or set(kinds[2:]) - {"Normalize"}:
        raise ValueError(f"the ONNX embedding backend supports mean-pooling sentence-transformers models; "
                         f"{model_dir} has modules {kinds}: use RAGQA_EMBEDDING_BACKEND=torch")


def cached_export(model_dir: Path, cache_dir: Path, int8: bool) -> Path:
    """The ONNX file for `model_dir` (fp32 or int8), exported into `cache_dir` on first use."""
    weights = max((p.stat().st_mtime_ns for p in model_dir.glob("*.safetensors")), default=0)
    key = hashlib.sha256(f"{model_dir.resolve()}:{weights}".encode()).hexdigest()[:16]
    folder = cache_dir / "embeddings" / f"{model_dir.name}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    return exported_once(folder / "model.onnx", lambda tmp: _export(model_dir, tmp), int8)


def exported_once(fp32: Path, export: Callable[[Path], None], int8: bool) -> Path:
    """`fp32` made by `export(temporary path)` if missing, and its int8 copy (`model-int8.onnx` beside it) if asked."""
    quantized = fp32.with_name("model-int8.onnx")
    if not fp32.is_file():
        log.info("exporting %s to ONNX (once)", fp32)
        replace_atomically(fp32, export)
    if int8 and not quantized.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        replace_atomically(quantized, lambda tmp: quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8,
                                                                   per_channel=True))
    return quantized if int8 else fp32


def _export(model_dir: Path, target: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    transformer = model[0].auto_model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                      token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    example = model.tokenizer(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    with torch.inference_mode():
        torch.onnx.export(MeanPooled(), tuple(example[name] for name in INPUTS), str(target), input_names=list(INPUTS),
                          output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)


class OnnxEncoder:
    """Runs an exported model: tokenizes, batches by length (less padding), returns normalised vectors.

    With batches of one text, each text has a run of its own, so its vector never depends on the others. A run of
    a short text (a sentence) keeps one core busy far better than it keeps several, so short texts run on a
    single-threaded session, as many at once as there are cores; long ones run one after the other on every core.
    A text always takes the same kind of run, whatever it is embedded with.
    """

    def __init__(self, model_file: Path, tokenizer, max_tokens: int) -> None:
        self.model_file = model_file
        self.session = _session(model_file, threads=0)  # 0: ONNX Runtime's default, every core
        self._serial_session = None  # one thread per run, for texts embedded one at a time (made on first use)
        self._workers: ThreadPoolExecutor | None = None
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.dimension = int(self.session.get_outputs()[0].shape[1] or 0) or None

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if batch_size == 1:
            return self._encode_one_per_run(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths share a batch
        out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            encoded = self.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                     max_length=self.max_tokens, return_tensors="np")
            feed = {name: encoded[name].astype(np.int64) for name in INPUTS if name in encoded}
            if "token_type_ids" not in feed:
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            for i, vector in zip(batch, self.session.run(None, feed)[0]):
                out[i] = vector
        return np.stack(out).astype(np.float32)

    def _encode_one_per_run(self, texts: list[str]) -> np.ndarray:
        if self._serial_session is None:
            self._serial_session = _session(self.model_file, threads=1)
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_tokens)
        feeds = [{name: np.asarray([encoded[name][i]], dtype=np.int64) for name in INPUTS if name in encoded}
                 for i in range(len(texts))]
        for feed in feeds:
            feed.setdefault("token_type_ids", np.zeros_like(feed["input_ids"]))
        longest_first = sorted(range(len(texts)), key=lambda i: -feeds[i]["input_ids"].shape[1])  # ends together
        long = [i for i in longest_first if feeds[i]["input_ids"].shape[1] >= SHARED_RUN_TOKENS]
        short = longest_first[len(long):]
        out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
        for i in long:
            out[i] = self.session.run(None, feeds[i])[0][0]
        session = self._serial_session
        if len(short) == 1:  # one short text (a query-time probe, a one-line upload): no worker threads
            out[short[0]] = session.run(None, feeds[short[0]])[0][0]
        elif short:
            if self._workers is None:
                self._workers = ThreadPoolExecutor(_cores(), thread_name_prefix="embed")
            for i, vector in zip(short, self._workers.map(lambda i: session.run(None, feeds[i])[0][0], short)):
                out[i] = vector
        return np.stack(out).astype(np.float32)


def _session(model_file: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    # Busy-waiting threads help an idle machine a little and a shared one a lot less.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
