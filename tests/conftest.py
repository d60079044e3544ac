"""Shared fixtures: the real models, loaded once per test session, and small document folders."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.server_process import ROOT, running_server
from core.environment import use_offline_models
from core.settings import Settings

use_offline_models()

# Three short documents, each holding facts the others don't.
DOCUMENTS = {
    "lighthouse.txt": (
        "The lighthouse at Varnholm was built in 1872 by the engineer Ada Brook.\n"
        "It stands 41 metres tall on the northern cliff. Its lamp was converted to electricity in 1931."
    ),
    "baking/bread.md": (
        "# Sourdough bread\n\nA sourdough loaf needs flour, water, salt and a starter culture.\n"
        "The dough rests for twelve hours before it is baked at 240 degrees Celsius."
    ),
    "club.html": (
        "<html><head><title>Chess club</title><style>p {color: red}</style></head><body>"
        "<script>console.log('tracking')</script>"
        "<p>The Riverside chess club meets every Thursday evening in the old library.</p>"
        "<p>Its founder, Marta Kowalski, won the regional championship in 1998.</p></body></html>"
    ),
}


def write_documents(folder: Path, documents: dict[str, str] = DOCUMENTS) -> Path:
    for name, text in documents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def ragqa_command() -> list[str]:
    """The `ragqa` console script installed next to this interpreter, else the module it runs."""
    script = Path(sys.executable).parent / "ragqa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def embedder(settings):
    from index.embedder import Embedder

    return Embedder.from_settings(settings)  # the default backend, as the service runs it


@pytest.fixture(scope="session")
def generator(settings):
    from app.generation.factory import generator_from_settings

    # The tests' small model, with the default precision, as the service would run it.
    return generator_from_settings(settings.model_copy(update={"model": "smollm2-135m"}))


@pytest.fixture()
def chunker(embedder, settings):
    from ingest.chunking import Chunker

    return Chunker(embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)


@pytest.fixture()
def docs_folder(tmp_path) -> Path:
    return write_documents(tmp_path / "docs")


def run_ingest(docs: Path, index_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python -m ingest DOCS --index INDEX_DIR` as a user runs it; it must succeed."""
    result = subprocess.run([sys.executable, "-m", "ingest", str(docs), "--index", str(index_dir)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def engine_server(tmp_path_factory):
    """The service (small model) with a small queue: two questions generated at once, two more may wait."""
    work = tmp_path_factory.mktemp("engine")
    run_ingest(write_documents(work / "docs"), work / "index", dict(os.environ))
    env = {"RAGQA_INDEX_DIR": str(work / "index"), "RAGQA_MODEL": "smollm2-135m", "RAGQA_MAX_NEW_TOKENS": "24",
           "RAGQA_BATCH_MAX_SIZE": "2", "RAGQA_QUEUE_SIZE": "2"}
    with running_server(env, work / "server.log") as (client, process, _):
        yield client, process


@pytest.fixture(scope="session")
def engine(engine_server):
    """An httpx client of the shared small-model service."""
    return engine_server[0]
