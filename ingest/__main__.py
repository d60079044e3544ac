"""`python -m ingest DOCS_FOLDER --index INDEX_DIR`: bring an index in line with a folder of documents."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from core.environment import use_offline_models
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
    return parser.parse_args(argv)


def fail(message: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"error": message}))
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None, prog: str = "python -m ingest") -> int:
    """Exit codes: 0 done, 1 no document could be read, 2 usage, settings or index problem."""
    use_offline_models()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValueError as exc:
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2
    args = parse_args(argv, settings, prog)
    folder: Path = args.folder
    if not folder.is_dir():
        return fail(f"document folder {folder} does not exist or is not a folder", args.json)

    from tqdm import tqdm

    from index.directory import IndexDirectory
    from index.embedder import Embedder
    from index.vectors import VectorOptions
    from ingest.pipeline import IngestPipeline

    try:
        embedder = Embedder.from_settings(settings)
        if settings.chunk_tokens > embedder.max_tokens - 2:
            return fail(f"RAGQA_CHUNK_TOKENS={settings.chunk_tokens} exceeds what the embedder reads "
                        f"({embedder.max_tokens - 2} word-pieces)", args.json)
        index = IndexDirectory.open_for_writing(args.index, embedder.name, embedder.dimension,
                                                VectorOptions.from_settings(settings))
    except (IndexStoreError, ValueError, RuntimeError) as exc:
        return fail(str(exc), args.json)

    recorded = IndexDirectory.mirrored_folder(args.index)
    if recorded and recorded != str(folder.resolve()) and not args.replace:
        return fail(f"index {args.index} mirrors {recorded}; ingesting {folder.resolve()} would remove its "
                    "documents. Use another --index, or pass --replace to do it anyway", args.json)

    pipeline = IngestPipeline.from_settings(index, embedder, settings)
    with tqdm(desc="ingesting", unit="file", disable=None, file=sys.stderr, leave=False) as bar:
        report = pipeline.run(
            folder,
            on_file=lambda _source: bar.update(1),
            on_skip=lambda source, reason: tqdm.write(f"skipped {source}: {reason}", file=sys.stderr),
        )
    index.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    if report.readable == 0:
        print(f"error: no document in {folder} could be read", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
