"""Incremental ingestion: walk a folder, and add, update or remove only what changed since the last run.

The index's documents table is the manifest (source path → SHA-256 of the file's bytes). A file
whose hash matches is not read again; a changed file is re-chunked and replaced; a file that is
gone is removed. Every file's change is one SQLite transaction, so a crash leaves a consistent index.
A new file whose text is the same or nearly the same as an indexed one's is skipped, naming that
copy. Files are read, parsed and chunked by a background thread while the previous batch is embedded.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from index.directory import IndexDirectory
from index.embedder import Embedder
from index.sentence_vectors import chunk_vector, pieces_to_embed, sentences_to_embed
from index.types import Chunk
from ingest.chunking import Chunker
from ingest.duplicates import DuplicateIndex, Fingerprint, fingerprint
from ingest.loaders import LoadedText, UnreadableFile, loader_for, page_of
from ingest.sandbox import load_within

if TYPE_CHECKING:
    from core.settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)

# Of two copies of one text, the one kept is the one already indexed; among new files, a rendered
# format before its source (an HTML page before the reST or Markdown it was made from), then by path.
_FORMAT_PREFERENCE = {".html": 0, ".htm": 0, ".pdf": 1, ".md": 2, ".markdown": 2, ".txt": 3}
# The version of what reading gives: the loaders' text and the chunker's chunks. Bump it when a change to either
# would give an indexed file other text or chunks; an index read by another version re-reads every file once
# (its bytes are unchanged, so the content hash alone would keep the old text). 2: HTML tables as Markdown rows.
# 3: HTML definition lists as Markdown's (a term on one line, then ": " and its definition). 4: an HTML paragraph that
# does not end as a sentence ("Note", "Source code: Lib/venv/") is a paragraph of its own; a list's items start "- ".
READER_VERSION = "4"
READ_AHEAD_FILES = 16  # files parsed and chunked ahead of the embedder (bounded memory)


@dataclass
class IngestReport:
    """What a run did, for the one-line summary and `--json`."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"[, "duplicate_of"]}
    chunks_embedded: int = 0
    seconds: float = 0.0

    def skipper(self, on_skip: Callable[[str, str], None] | None) -> Callable[..., None]:
        """Records a skipped file here and tells `on_skip` about it."""
        def skip(source: str, reason: str, duplicate_of: str | None = None) -> None:
            entry = {"path": source, "reason": reason}
            if duplicate_of is not None:
                entry["duplicate_of"] = duplicate_of
            self.skipped.append(entry)
            if on_skip:
                on_skip(source, reason)
        return skip

    @property
    def readable(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)

    @property
    def duplicates(self) -> int:
        return sum(1 for s in self.skipped if "duplicate_of" in s)

    def summary(self) -> str:
        duplicates = f" ({self.duplicates} duplicates)" if self.duplicates else ""
        line = (f"files added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
                f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}{duplicates}; "
                f"chunks embedded {self.chunks_embedded}; {self.seconds:.1f} s")
        if not (self.added or self.updated or self.removed):
            line += " (index already up to date)"
        return line

    def to_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "removed": self.removed,
                "unchanged": len(self.unchanged), "skipped": self.skipped,
                "chunks_embedded": self.chunks_embedded, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class _Candidate:
    path: Path
    source: str  # relative POSIX path: the document's name in the index and in citations

    @property
    def preference(self) -> tuple[int, str]:
        return _FORMAT_PREFERENCE.get(self.path.suffix.lower(), 9), self.source


@dataclass
class _Pending:
    source: str
    content_hash: str
    size: int
    loaded: LoadedText
    chunks: list[Chunk]
    is_update: bool
    fingerprint: Fingerprint | None


def discover(root: Path, skip: Callable[[str, str], None]) -> Iterator[_Candidate]:
    """Supported files under `root`, sorted; hidden entries skipped; links never followed out of root."""
    root_real = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            source = path.relative_to(root).as_posix()
            try:
                source.encode("utf-8")
            except UnicodeEncodeError:  # bytes that are not UTF-8 (os.walk keeps them as surrogates)
                shown = source.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                skip(shown, "file name is not valid UTF-8; rename it")
                continue
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):  # dangling, or a loop of links
                    skip(source, "symbolic link to nothing readable (dangling or a loop)")
                    continue
                if not target.is_relative_to(root_real):
                    skip(source, "symbolic link out of the folder")
                    continue
            if loader_for(path) is None:
                skip(source, f"unsupported format {path.suffix or '(none)'}")
                continue
            yield _Candidate(path, source)


class IngestPipeline:
    """Loads, chunks, embeds and stores the documents of one folder into one index directory.

    `duplicate_similarity`: a new document at least this similar to an indexed one (estimated
    Jaccard similarity of their 5-word shingles) is skipped; None indexes every copy.
    """

    def __init__(self, index: IndexDirectory, embedder: Embedder | None, chunker: Chunker | None,
                 max_file_bytes: int = 50 * 1024 * 1024, batch_chunks: int = 256, max_file_seconds: float = 0,
                 duplicate_similarity: float | None = 0.5, sentence_vectors: bool = True,
                 load_models: Callable[[], tuple[Embedder, Chunker]] | None = None) -> None:
        """`load_models` instead of `embedder` and `chunker`: called when the first changed file needs them,
        so a run that finds the folder as it was indexed loads no model (`ragqa serve`'s restart)."""
        self.index = index
        self._load_models = load_models or (lambda: (embedder, chunker))
        self.max_file_bytes = max_file_bytes
        self.batch_chunks = batch_chunks
        self.max_file_seconds = max_file_seconds
        self.duplicate_similarity = duplicate_similarity
        self.sentence_vectors = sentence_vectors

    @classmethod
    def from_settings(cls, index: IndexDirectory, embedder: Embedder | Callable[[], Embedder],
                      settings: Settings) -> IngestPipeline:
        """The pipeline the settings describe: chunk size and overlap, file limits, duplicate detection, and
        the embedder of the documents' chunks (`RAGQA_DOCUMENT_EMBEDDING_BACKEND`; `embedder` is the index's,
        or a function that loads it when a changed file first needs it)."""
        def load_models() -> tuple[Embedder, Chunker]:
            index_embedder = embedder() if callable(embedder) else embedder
            chunker = Chunker(index_embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)
            return document_embedder(settings, index_embedder), chunker

        return cls(index, None, None, max_file_bytes=settings.max_file_bytes, max_file_seconds=settings.max_file_seconds,
                   duplicate_similarity=settings.duplicate_similarity if settings.skip_duplicates else None,
                   sentence_vectors=settings.sentence_vectors, load_models=load_models)

    @cached_property
    def _models(self) -> tuple[Embedder, Chunker]:
        embedder, chunker = self._load_models()
        # The chunker runs in the reading thread while the embedder tokenizes batches: a fast
        # tokenizer must not be used by two threads at once, so the chunker gets its own.
        return embedder, Chunker(copy.deepcopy(chunker.tokenizer), chunker.max_tokens, chunker.overlap_tokens)

    @property
    def embedder(self) -> Embedder:
        return self._models[0]

    @property
    def chunker(self) -> Chunker:
        return self._models[1]

    def run(self, root: Path, on_file: Callable[[str], None] | None = None,
            on_skip: Callable[[str, str], None] | None = None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        skip = report.skipper(on_skip)
        manifest = self.index.store.manifest()
        candidates = list(discover(root, skip))
        present = {c.source for c in candidates}
        reread = self._read_by_another_version(manifest)
        if reread:
            log.info("the index was read by another version of ragqa: every file is read again, once")
        self._ingest(candidates, manifest, report, skip, on_file, present, reread)
        self._complete_sentence_vectors()
        # Remove what is gone, but only when something could be read: an empty or unmounted folder
        # must not wipe an index.
        if report.readable:
            for source in sorted(set(manifest) - present):
                self.index.remove_document(source)
                report.removed.append(source)
        if reread and report.readable:  # not when the folder was empty or unmounted: nothing was read again
            self.index.store.set_meta("reader_version", READER_VERSION)
        self.index.flush({"source_folder": str(root.resolve())})
        report.seconds = time.perf_counter() - started
        return report

    def run_files(self, root: Path, sources: Iterable[str],
                  on_skip: Callable[[str, str], None] | None = None) -> IngestReport:
        """Add or update only the named files of `root` (paths relative to it); other documents stay as they are."""
        started = time.perf_counter()
        report = IngestReport()
        skip = report.skipper(on_skip)
        candidates = []
        for source in sources:
            path = root / source
            if loader_for(path) is None:
                skip(source, f"unsupported format {path.suffix or '(none)'}")
            else:
                candidates.append(_Candidate(path, source))
        manifest = self.index.store.manifest()
        self._read_by_another_version(manifest)  # marks an empty index; a partial run re-reads nothing else
        self._ingest(candidates, manifest, report, skip, None, present=None)
        self._complete_sentence_vectors()
        self.index.flush({"source_folder": str(root.resolve())})
        report.seconds = time.perf_counter() - started
        return report

    def _read_by_another_version(self, manifest: dict[str, str]) -> bool:
        """Whether the indexed files were read by another READER_VERSION; an empty index is marked as this one's."""
        if self.index.store.get_meta("reader_version") == READER_VERSION:
            return False
        if manifest:
            return True
        self.index.store.set_meta("reader_version", READER_VERSION)  # whatever this run writes, this version reads
        return False

    # --- the run -------------------------------------------------------------------------------
    def _ingest(self, candidates: list[_Candidate], manifest: dict[str, str], report: IngestReport,
                skip: Callable[..., None], on_file: Callable[[str], None] | None, present: set[str] | None,
                reread: bool = False) -> None:
        """Find what changed, then prepare it in a background thread and embed and write it in batches.

        `present`: the documents still in the folder (None: all indexed ones, for a partial run);
        only those can be the kept copy of a duplicate. `reread`: every file counts as changed.
        """
        if not self.sentence_vectors:
            self.index.store.forget_sentence_vectors()  # before a chunk without them is written
        changed: list[_Candidate] = []
        for candidate in candidates:  # first, what is unchanged: its indexed copy stays a kept copy
            content_hash = self._hash_of(candidate, skip)
            if content_hash is None:
                pass
            elif not reread and manifest.get(candidate.source) == content_hash:
                report.unchanged.append(candidate.source)
            else:
                changed.append(candidate)
                continue
            if on_file:
                on_file(candidate.source)
        if not changed:
            return
        self._models  # noqa: B018 - loaded here, before the reading thread and the embedder both need them
        if present is None:  # a partial run: every indexed document can be a kept copy
            kept_sources = None
        elif reread:  # the indexed documents still in the folder stay the kept copies: they are updates
            kept_sources = [source for source in manifest if source in present]
        else:
            kept_sources = report.unchanged
        kept = self._kept_copies(manifest, kept_sources)
        changed.sort(key=lambda c: c.preference)
        prepared = ((c, self._prepare(c, manifest, skip, kept)) for c in changed)
        pending: list[_Pending] = []
        for candidate, item in _read_ahead(prepared, READ_AHEAD_FILES):
            if on_file:
                on_file(candidate.source)
            if item is not None:
                pending.append(item)
                if sum(len(p.chunks) for p in pending) >= self.batch_chunks:
                    self._write(pending, report)
                    pending = []
        self._write(pending, report)

    def _hash_of(self, candidate: _Candidate, skip: Callable[..., None]) -> str | None:
        try:
            size = candidate.path.stat().st_size
            if size > self.max_file_bytes:
                skip(candidate.source, f"larger than the limit of {self.max_file_bytes} bytes")
                return None
            return hashlib.sha256(candidate.path.read_bytes()).hexdigest()
        except OSError as exc:
            skip(candidate.source, f"cannot read ({exc.strerror or exc})")
            return None

    def _kept_copies(self, manifest: dict[str, str], unchanged: list[str] | None) -> DuplicateIndex | None:
        """The indexed documents new files are compared with: the unchanged ones (all, for a partial run)."""
        if self.duplicate_similarity is None:
            return None
        kept = DuplicateIndex(self.duplicate_similarity)
        sources = list(manifest) if unchanged is None else unchanged
        for source, stored in self.index.store.fingerprints(sources).items():
            if stored is None:  # indexed before fingerprints were kept: made once from its text, and kept
                stored = fingerprint(self.index.store.document_text(source) or "").to_bytes()
                self.index.store.set_fingerprint(source, stored)
            kept.add(source, manifest[source], Fingerprint.from_bytes(stored))
        return kept

    def _prepare(self, candidate: _Candidate, manifest: dict[str, str], skip_file: Callable[..., None],
                 kept: DuplicateIndex | None) -> _Pending | None:
        """Read, parse and chunk one changed or new file (in the reading thread); None if it is skipped."""
        def skip(reason: str, duplicate_of: str | None = None) -> None:
            skip_file(candidate.source, reason, duplicate_of)

        try:
            data = candidate.path.read_bytes()
        except OSError as exc:
            skip(f"cannot read ({exc.strerror or exc})")
            return None
        if len(data) > self.max_file_bytes:
            skip(f"larger than the limit of {self.max_file_bytes} bytes")
            return None
        content_hash = hashlib.sha256(data).hexdigest()
        is_update = candidate.source in manifest
        # Only a file new to the index is checked: an indexed document's new version replaces it.
        check = kept is not None and not is_update
        if check and (match := kept.same_bytes(content_hash)):
            skip(match.reason(), match.source)
            return None
        try:
            loaded = load_within(candidate.path, data, self.max_file_seconds)
        except UnreadableFile as exc:
            skip(str(exc))  # a previously indexed version, if any, stays in the index
            return None
        fp = fingerprint(loaded.text) if kept is not None else None
        if check and (match := kept.match(fp)):
            skip(match.reason(), match.source)
            return None
        chunks = self.chunker.split(loaded.text)
        if not chunks:
            skip("no text to index")
            return None
        if pages := loaded.metadata.get("pages"):
            chunks = [Chunk(c.text, c.start, c.end, {"page": page_of(c.start, pages)}) for c in chunks]
        if kept is not None:
            kept.add(candidate.source, content_hash, fp)
        return _Pending(candidate.source, content_hash, len(data), loaded, chunks, is_update, fp)

    def _write(self, pending: list[_Pending], report: IngestReport) -> None:
        """Embed a batch of documents together (faster), then commit each in its own transaction."""
        if not pending:
            return
        vectors, sentences = self._embed([c.text for p in pending for c in p.chunks])
        offset = 0
        for p in pending:
            n = len(p.chunks)
            self.index.write_document(p.source, p.content_hash, p.size, p.loaded.text, p.loaded.metadata,
                                      p.chunks, vectors[offset:offset + n],
                                      fingerprint=p.fingerprint.to_bytes() if p.fingerprint else None,
                                      sentence_vectors=None if sentences is None else sentences[offset:offset + n])
            offset += n
            (report.updated if p.is_update else report.added).append(p.source)
            report.chunks_embedded += n

    def _embed(self, texts: list[str]) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Each chunk text's vector, (n, d), and with sentence vectors on, its prose sentences' vectors.

        With them, one pass over the text: every distinct piece of the batch (index/sentence_vectors.py) is embedded
        once, on its own, and a chunk's vector is the mean of its pieces'. Without them, each chunk is embedded whole.
        """
        if not self.sentence_vectors:
            return self.embedder.embed(texts), None
        pieces = [pieces_to_embed(text) for text in texts]
        distinct = list(dict.fromkeys(piece for sentences, rest in pieces for piece in [*sentences, rest] if piece))
        vector_of = dict(zip(distinct, self.embedder.embed(distinct)))
        chunk_vectors, sentence_vectors = [], []
        for sentences, rest in pieces:
            own = [*sentences, rest] if rest else sentences
            chunk_vectors.append(chunk_vector(np.stack([vector_of[p] for p in own]), [len(p) for p in own]))
            sentence_vectors.append(np.stack([vector_of[s] for s in sentences]) if sentences
                                    else np.zeros((0, self.embedder.dimension), dtype=np.float32))
        return np.stack(chunk_vectors), sentence_vectors

    def _sentence_vectors(self, texts: list[str]) -> list[np.ndarray]:
        """Per chunk text, its prose sentences' vectors (index/sentence_vectors.py), (n, d) with n possibly 0."""
        per_text = [sentences_to_embed(text) for text in texts]
        vectors = self.embedder.embed([s for sentences in per_text for s in sentences])
        bounds = np.cumsum([0] + [len(sentences) for sentences in per_text])
        return [vectors[start:end] for start, end in zip(bounds[:-1], bounds[1:])]

    def _complete_sentence_vectors(self) -> None:
        """Embed the sentences of chunks that have none (an index built before sentence vectors, or without
        them, or a run stopped mid-way), then let retrieval rank with them. Nothing to do loads no model."""
        store = self.index.store
        if not self.sentence_vectors or store.has_sentence_vectors():
            return
        missing = store.chunks_without_sentence_vectors()
        for start in range(0, len(missing), self.batch_chunks):
            batch = missing[start:start + self.batch_chunks]
            vectors = self._sentence_vectors([text for _, text in batch])
            store.add_sentence_vectors([(chunk_id, v) for (chunk_id, _), v in zip(batch, vectors)],
                                       complete=start + self.batch_chunks >= len(missing))
        if not missing:
            store.add_sentence_vectors([], complete=True)


_DOCUMENT_EMBEDDERS: dict[tuple, Embedder] = {}
_DOCUMENT_EMBEDDERS_LOCK = threading.Lock()


def document_embedder(settings: Settings, index_embedder: Embedder) -> Embedder:
    """The embedder of documents' chunks (`RAGQA_DOCUMENT_EMBEDDING_BACKEND`); loaded once per process.

    Queries are embedded by `index_embedder`, whose model the index records; `onnx-int8` (the default)
    embeds the documents with the same model's int8 copy (about twice as fast; recall in bench/RESULTS.md).
    int8 runs one chunk at a time: ONNX Runtime's dynamic quantization scales each run's activations
    together, so a chunk embedded in a batch would get a vector that depends on its batch-mates, and a
    re-run (or a resumed, interrupted one) would not reproduce the index exactly. Alone it is as fast.
    """
    backend = settings.document_embedding_backend
    if backend == "index":
        backend = index_embedder.backend
    batch_size = 1 if backend == "onnx-int8" else settings.embedding_batch_size
    if backend == index_embedder.backend and batch_size == index_embedder.batch_size:
        return index_embedder
    key = (settings.embedding_model, backend, batch_size, str(settings.cache_dir))
    with _DOCUMENT_EMBEDDERS_LOCK:
        if key not in _DOCUMENT_EMBEDDERS:
            try:
                _DOCUMENT_EMBEDDERS[key] = Embedder(settings.embedding_model, batch_size, backend, settings.cache_dir)
            except ValueError as exc:  # a model the ONNX export cannot reproduce: embed with the index's embedder
                log.warning("embedding documents with the index's embedder: %s", exc)
                return index_embedder
        return _DOCUMENT_EMBEDDERS[key]


def _read_ahead(items: Iterable[T], ahead: int) -> Iterator[T]:
    """`items`, computed by a background thread up to `ahead` items before they are asked for.

    An exception raised computing an item is raised here, in its place; when the consumer stops
    early (an exception of its own), the thread stops after the item it is computing.
    """
    buffer: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    end = object()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))
            return
        put((True, end))

    thread = threading.Thread(target=produce, name="ragqa-ingest-reader", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = buffer.get()
            if not ok:
                raise item  # type: ignore[misc]
            if item is end:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
