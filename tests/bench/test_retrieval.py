"""`python -m bench.retrieval`: the rank of the first passage holding a gold answer, per mode, and its summary."""
from __future__ import annotations

import pytest

from bench.retrieval import gold_ranks, parse_args, summarise
from bench.squad import Question
from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline

QUESTIONS = [
    Question("q1", "Who built the lighthouse at Varnholm?", ("Ada Brook",), "Lighthouse", ""),
    Question("q2", "How long does the sourdough dough rest?", ("twelve hours",), "Bread", ""),
    Question("q3", "Who founded the chess club?", ("Marta Kowalski",), "Club", ""),
    Question("q4", "What colour is the moon?", ("a gold answer in no document",), "None", ""),
]


@pytest.fixture()
def retriever(docs_folder, tmp_path, embedder, chunker):
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs_folder)
    yield Retriever(index, embedder)
    index.close()


@pytest.mark.parametrize("mode", ["hybrid", "rrf", "dense", "keyword"])
def test_each_mode_finds_the_answers_that_exist_and_no_other(retriever, mode):
    ranks, times = gold_ranks(retriever, QUESTIONS, mode)
    assert ranks[:3] == [1, 1, 1] and ranks[3] is None
    assert len(times) == 4 and all(t > 0 for t in times)
    summary = summarise(ranks, times)
    assert summary["answer_recall@1"] == summary["answer_recall@5"] == 0.75
    assert summary["mrr@5"] == 0.75 and summary["search_ms_p50"] > 0


def test_an_unknown_mode_is_refused_by_name(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["questions.json", str(tmp_path), "--modes", "hybrid,hybird"])
    assert "unknown retrieval mode 'hybird'" in capsys.readouterr().err
