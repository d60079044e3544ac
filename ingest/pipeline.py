"""Incremental ingestion: walk a folder, and add, update or remove only what changed since the last run.

The index's documents table is the manifest (source path → SHA-256 of the file's bytes). A file
whose hash matches is not read again; a changed file is re-chunked and replaced; a file that is
gone is removed. Every file's change is one SQLite transaction, so a crash leaves a consistent index.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from index.directory import IndexDirectory
from index.embedder import Embedder
from index.types import Chunk
from ingest.chunking import Chunker
from ingest.loaders import LoadedText, UnreadableFile, loader_for, page_of
from ingest.sandbox import load_within

if TYPE_CHECKING:
    from core.settings import Settings


@dataclass
class IngestReport:
    """What a run did, for the one-line summary and `--json`."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}
    chunks_embedded: int = 0
    seconds: float = 0.0

    def skipper(self, on_skip: Callable[[str, str], None] | None) -> Callable[[str, str], None]:
        """Records a skipped file here and tells `on_skip` about it."""
        def skip(source: str, reason: str) -> None:
            self.skipped.append({"path": source, "reason": reason})
            if on_skip:
                on_skip(source, reason)
        return skip

    @property
    def readable(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)

    def summary(self) -> str:
        line = (f"files added {len(self.added)}, updated {len(self.updated)}, removed {len(self.removed)}, "
                f"unchanged {len(self.unchanged)}, skipped {len(self.skipped)}; "
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


@dataclass
class _Pending:
    source: str
    content_hash: str
    size: int
    loaded: LoadedText
    chunks: list[Chunk]
    is_update: bool


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
    """Loads, chunks, embeds and stores the documents of one folder into one index directory."""

    def __init__(self, index: IndexDirectory, embedder: Embedder, chunker: Chunker,
                 max_file_bytes: int = 50 * 1024 * 1024, batch_chunks: int = 256, max_file_seconds: float = 0) -> None:
        self.index = index
        self.embedder = embedder
        self.chunker = chunker
        self.max_file_bytes = max_file_bytes
        self.batch_chunks = batch_chunks
        self.max_file_seconds = max_file_seconds

    @classmethod
    def from_settings(cls, index: IndexDirectory, embedder: Embedder, settings: Settings) -> IngestPipeline:
        """The pipeline the settings describe: chunk size and overlap, and the file size limit."""
        chunker = Chunker(embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)
        return cls(index, embedder, chunker, max_file_bytes=settings.max_file_bytes,
                   max_file_seconds=settings.max_file_seconds)

    def run(self, root: Path, on_file: Callable[[str], None] | None = None,
            on_skip: Callable[[str, str], None] | None = None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()

        skip = report.skipper(on_skip)

        manifest = self.index.store.manifest()
        seen: set[str] = set()

        def candidates() -> Iterator[_Candidate]:
            for candidate in discover(root, skip):
                seen.add(candidate.source)
                yield candidate

        self._ingest(candidates(), manifest, report, skip, on_file)
        # Remove what is gone, but only when something could be read: an empty or unmounted folder
        # must not wipe an index.
        if report.readable:
            for source in sorted(set(manifest) - seen):
                self.index.remove_document(source)
                report.removed.append(source)
        self.index.flush({"source_folder": str(root.resolve())})
        report.seconds = time.perf_counter() - started
        return report

    def run_files(self, root: Path, sources: Iterable[str],
                  on_skip: Callable[[str, str], None] | None = None) -> IngestReport:
        """Add or update only the named files of `root` (paths relative to it); other documents stay as they are."""
        started = time.perf_counter()
        report = IngestReport()

        skip = report.skipper(on_skip)

        def candidates() -> Iterator[_Candidate]:
            for source in sources:
                path = root / source
                if loader_for(path) is None:
                    skip(source, f"unsupported format {path.suffix or '(none)'}")
                else:
                    yield _Candidate(path, source)

        self._ingest(candidates(), self.index.store.manifest(), report, skip, None)
        self.index.flush({"source_folder": str(root.resolve())})
        report.seconds = time.perf_counter() - started
        return report

    def _ingest(self, candidates: Iterable[_Candidate], manifest: dict[str, str], report: IngestReport,
                skip: Callable[[str, str], None], on_file: Callable[[str], None] | None) -> None:
        """Prepare each candidate and write them in batches of about `batch_chunks` chunks."""
        pending: list[_Pending] = []
        for candidate in candidates:
            item = self._prepare(candidate, manifest, report, skip)
            if on_file:
                on_file(candidate.source)
            if item is not None:
                pending.append(item)
                if sum(len(p.chunks) for p in pending) >= self.batch_chunks:
                    self._write(pending, report)
                    pending = []
        self._write(pending, report)

    def _prepare(self, candidate: _Candidate, manifest: dict[str, str], report: IngestReport,
                 skip_file: Callable[[str, str], None]) -> _Pending | None:
        def skip(reason: str) -> None:
            skip_file(candidate.source, reason)

        try:
            size = candidate.path.stat().st_size
            if size > self.max_file_bytes:
                skip(f"larger than the limit of {self.max_file_bytes} bytes")
                return None
            data = candidate.path.read_bytes()
        except OSError as exc:
            skip(f"cannot read ({exc.strerror or exc})")
            return None
        content_hash = hashlib.sha256(data).hexdigest()
        if manifest.get(candidate.source) == content_hash:
            report.unchanged.append(candidate.source)
            return None
        try:
            loaded = load_within(candidate.path, data, self.max_file_seconds)
        except UnreadableFile as exc:
            skip(str(exc))  # a previously indexed version, if any, stays in the index
            return None
        chunks = self.chunker.split(loaded.text)
        if not chunks:
            skip("no text to index")
            return None
        if pages := loaded.metadata.get("pages"):
            chunks = [Chunk(c.text, c.start, c.end, {"page": page_of(c.start, pages)}) for c in chunks]
        return _Pending(candidate.source, content_hash, len(data), loaded, chunks,
                        is_update=candidate.source in manifest)

    def _write(self, pending: list[_Pending], report: IngestReport) -> None:
        """Embed a batch of documents together (faster), then commit each in its own transaction."""
        if not pending:
            return
        vectors = self.embedder.embed([c.text for p in pending for c in p.chunks])  # (n, d)
        offset = 0
        for p in pending:
            n = len(p.chunks)
            self.index.write_document(p.source, p.content_hash, p.size, p.loaded.text, p.loaded.metadata,
                                      p.chunks, vectors[offset:offset + n])
            offset += n
            (report.updated if p.is_update else report.added).append(p.source)
            report.chunks_embedded += n
