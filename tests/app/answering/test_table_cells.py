"""A table's cell as the answer: the row the question names by its first cell, the column by its header."""
from __future__ import annotations

import asyncio

import pytest

from app.answering.answerer import Answerer
from app.answering.table_cells import asked_cell
from index.directory import IndexDirectory
from index.retrieval import Retriever
from index.types import Hit
from ingest.pipeline import IngestPipeline

SETTINGS_MD = """# Settings

Every setting is an environment variable.

| Variable | Default | Meaning |
|---|---|---|
| `HARBOUR_LAMP_HOURS` | `12` | Hours the harbour lamp burns each night; at least 4 and at most 16. |
| `HARBOUR_TIDE_LIMIT` | `0.55` | The harbour closes when the tide is below this, in metres (200 cm at spring tide). |
| `HARBOUR_KEEPERS` | `3` | Keepers on duty at once. |
"""


def _row_sentence(name: str) -> Hit:
    start = SETTINGS_MD.index(f"| `{name}`")
    end = SETTINGS_MD.index("\n", start)
    return Hit(chunk_id=7, source="settings.md", text=SETTINGS_MD[start:end], start=start, end=end, score=1,
               similarity=0.6)


@pytest.mark.parametrize("question, row, cell", [
    ("What is the default of HARBOUR_TIDE_LIMIT?", "HARBOUR_TIDE_LIMIT", "0.55"),
    ("What is HARBOUR_LAMP_HOURS's default value?", "HARBOUR_LAMP_HOURS", "12"),
    ("What does HARBOUR_KEEPERS mean?", "HARBOUR_KEEPERS", "Keepers on duty at once."),
])
def test_the_cell_in_the_named_row_under_the_named_column_is_the_answer(question, row, cell):
    found = asked_cell(question, [_row_sentence(row)], lambda source: SETTINGS_MD)
    assert found is not None and found.text.text == cell
    assert SETTINGS_MD[found.text.start:found.text.end] == cell  # a verbatim span of the document
    assert found.row.text == _row_sentence(row).text  # its support: the row


@pytest.mark.parametrize("question", [
    "What is the default of HARBOUR_TIDE_LIMIT?",  # the row of another variable
    "How many keepers are on duty?",  # names no row
])
def test_no_cell_when_the_question_names_no_row_and_column_of_the_table(question):
    assert asked_cell(question, [_row_sentence("HARBOUR_KEEPERS")], lambda source: SETTINGS_MD) is None


@pytest.mark.slow
def test_a_question_for_a_settings_default_is_answered_with_its_cell(tmp_path, embedder, chunker, generator, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "settings.md").write_text(SETTINGS_MD, encoding="utf-8")
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs)
    answerer = Answerer(Retriever(index, embedder), generator, settings)
    response = asyncio.run(answerer.ask("What is the default of HARBOUR_TIDE_LIMIT?", 4))
    index.close()
    assert response.answer == "0.55" and not response.abstained
    assert response.quote.text == "| `HARBOUR_TIDE_LIMIT` | `0.55` | The harbour closes when the tide is below this, in " \
                                  "metres (200 cm at spring tide). |"
    assert response.sentences[0].support[0].text == response.quote.text
