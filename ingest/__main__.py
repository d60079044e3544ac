"""`python -m ingest DOCS_FOLDER --index INDEX_DIR`: bring an index in line with a folder of documents.

SIGTERM stops a run as Ctrl-C does: every file written so far is committed (one transaction each), nothing
is half-written, and the next run goes on from there without embedding those files again.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from core.environment import use_offline_models
from core.logs import configure_json_logging
from core.settings import Settings
from index.errors import IndexStoreError


def parse_args(argv: list[str] | None, settings: Settings, prog: str = "python -m ingest") -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Ingest a folder of .txt, .md, .html and .pdf files into a ragqa index. "
                    "Runs are incremental: only added, changed and deleted files cost work.",
    )
    parser.add_argument("folder", type=Path, nargs="?", default=settings.docs_dir,
                        help=f"folder of documents (default: RAGQA_DOCS_DIR, now {settings.docs_dir})")
    parser.add_argument("--index", type=Path, default=settings.index_dir,
                        help=f"index directory to create or update (default: RAGQA_INDEX_DIR, now {settings.index_dir})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    parser.add_argument("--replace", action="store_true",
                        help="let this index mirror another folder than the one it was built from")
    parser.add_argument("--log-json", action="store_true",
                        help="report as JSON log lines on stdout, the service's log format (`ragqa serve` runs this)")
    return parser.parse_args(argv)


log = logging.getLogger("ragqa.ingest")
EXIT_STOPPED = 130  # SIGTERM or Ctrl-C


def fail(message: str, as_json: bool, log_json: bool = False) -> int:
    if log_json:
        log.error(message)
        return 2
    if as_json:
        print(json.dumps({"error": message}))
    print(f"error: {message}", file=sys.stderr)
    return 2


class SetupFailed(Exception):
    """The embedder cannot be loaded or does not fit the settings; the message says why."""


def _stop_on_sigterm(*_) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop: a second SIGTERM must not break the clean-up
    raise KeyboardInterrupt("SIGTERM")


def main(argv: list[str] | None = None, prog: str = "python -m ingest") -> int:
    """Exit codes: 0 done, 1 no document could be read, 2 usage, settings or index problem, 130 stopped."""
    use_offline_models()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    args = parse_args(argv, settings, prog)
    if args.log_json:
        configure_json_logging()
    folder: Path = args.folder
    if not folder.is_dir():
        return fail(f"document folder {folder} does not exist or is not a folder", args.json, args.log_json)

    from tqdm import tqdm

    from index.directory import IndexDirectory
    from index.embedder import Embedder
    from index.vectors import VectorOptions
    from ingest.pipeline import IngestPipeline

    def load_embedder() -> Embedder:
        try:
            embedder = Embedder.from_settings(settings)
        except (ValueError, RuntimeError, OSError) as exc:
            raise SetupFailed(str(exc)) from exc
        if settings.chunk_tokens > embedder.max_tokens - 2:
            raise SetupFailed(f"RAGQA_CHUNK_TOKENS={settings.chunk_tokens} exceeds what the embedder reads "
                              f"({embedder.max_tokens - 2} word-pieces)")
        return embedder

    model = Embedder.recorded_name(settings.embedding_model, settings.embedding_backend)
    try:
        if IndexDirectory.recorded_embedding_model(args.index) == model:
            # An index of this model: the model loads only if a file changed (a restart over the same folder loads none).
            embedder: Embedder | Callable[[], Embedder] = load_embedder
            index = IndexDirectory.open_for_writing(args.index, model, None, VectorOptions.from_settings(settings))
        else:  # a new index needs the model's dimension; another model's index is refused by open_for_writing
            embedder = load_embedder()
            index = IndexDirectory.open_for_writing(args.index, embedder.name, embedder.dimension,
                                                    VectorOptions.from_settings(settings))
    except (IndexStoreError, SetupFailed, ValueError, RuntimeError) as exc:
        return fail(str(exc), args.json, args.log_json)

    recorded = IndexDirectory.mirrored_folder(args.index)
    if recorded and recorded != str(folder.resolve()) and not args.replace:
        return fail(f"index {args.index} mirrors {recorded}; ingesting {folder.resolve()} would remove its "
                    "documents. Use another --index, or pass --replace to do it anyway", args.json, args.log_json)

    def skipped(source: str, reason: str) -> None:
        if args.log_json:
            log.warning("skipped %s: %s", source, reason, extra={"fields": {"path": source, "reason": reason}})
        else:
            tqdm.write(f"skipped {source}: {reason}", file=sys.stderr)

    pipeline = IngestPipeline.from_settings(index, embedder, settings)
    if args.log_json:
        log.info("ingesting %s into %s", folder, args.index)
    in_main_thread = threading.current_thread() is threading.main_thread()  # (signal handlers live there)
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if in_main_thread else None
    try:
        with tqdm(desc="ingesting", unit="file", disable=True if args.log_json else None, file=sys.stderr,
                  leave=False) as bar:
            report = pipeline.run(folder, on_file=lambda _source: bar.update(1), on_skip=skipped)
    except SetupFailed as exc:  # the embedder, loaded for the first changed file, could not be
        index.close()
        return fail(str(exc), args.json, args.log_json)
    except KeyboardInterrupt:
        committed = {"documents": len(index.store.manifest()), "chunks": index.store.chunk_count()}
        index.close()
        message = (f"ingest stopped: the index holds {committed['documents']} documents ({committed['chunks']} chunks), "
                   "each committed whole; the next run goes on from there")
        log.warning(message, extra={"fields": committed}) if args.log_json else print(message, file=sys.stderr)
        return EXIT_STOPPED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    index.close()
    if args.log_json:
        counts = {name: len(value) if isinstance(value, list) else value for name, value in report.to_dict().items()}
        log.info("ingest: %s", report.summary(), extra={"fields": counts})
    elif args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    if report.readable == 0:
        message = f"no document in {folder} could be read"
        log.error(message) if args.log_json else print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
