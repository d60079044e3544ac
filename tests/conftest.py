"""Shared fixtures: the real models, loaded once per test session, and small document folders."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from app.settings import Settings  # noqa: E402

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
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def embedder(settings):
    from index.embedder import Embedder

    return Embedder.from_settings(settings)  # the default backend, as the service runs it


@pytest.fixture(scope="session")
def generator(settings):
    from app.generation import generator_from_settings

    # The tests' small model, with the default precision, as the service would run it.
    return generator_from_settings(settings.model_copy(update={"model": "smollm2-135m"}))


@pytest.fixture()
def chunker(embedder, settings):
    from ingest.chunking import Chunker

    return Chunker(embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)


@pytest.fixture()
def docs_folder(tmp_path) -> Path:
    return write_documents(tmp_path / "docs")
