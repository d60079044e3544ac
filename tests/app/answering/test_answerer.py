"""The question→answer path with the real embedder, index and small model: evidence, abstention, citations, quote."""
from __future__ import annotations

import asyncio

import pytest

from app.answering.abstention import NOT_IN_DOCUMENTS
from app.answering.answerer import Answerer
from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline

pytestmark = pytest.mark.slow


@pytest.fixture()
def answerer(docs_folder, tmp_path, embedder, chunker, generator, settings):
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs_folder)
    yield Answerer(Retriever(index, embedder), generator, settings)
    index.close()


def test_the_evidence_is_the_sentences_that_bear_on_the_question(answerer):
    evidence, cited = answerer.evidence("When was the lighthouse converted to electricity?", 3)
    assert "converted to electricity in 1931" in evidence[0].text
    assert len(evidence[0].text) < len(cited[0].text) or len(cited) > 1  # sentences, not whole passages
    assert {hit.source for hit in evidence} <= {hit.source for hit in cited}


def test_a_question_the_documents_do_not_touch_abstains_without_the_model(answerer):
    response = asyncio.run(answerer.ask("What is the airspeed velocity of an unladen swallow?", 3))
    assert response.abstained and response.answer == NOT_IN_DOCUMENTS
    assert response.citations == [] and "generation" not in response.timings_ms


def test_an_answer_rests_on_its_documents_quoted_verbatim(answerer, docs_folder):
    response = asyncio.run(answerer.ask("When was the lighthouse at Varnholm converted to electricity?", 3))
    assert response.timings_ms["generation"] > 0 and response.model == "smollm2-135m"
    assert "lighthouse.txt" in {c.source for c in response.citations}
    if response.abstained:  # the small model may decline; then it says so plainly, with its sources
        assert response.answer == NOT_IN_DOCUMENTS and response.quote is None
    else:
        text = (docs_folder / response.quote.source).read_text(encoding="utf-8")
        assert text[response.quote.start:response.quote.end] == response.quote.text


def test_over_another_snapshot_keeps_the_model_and_its_queue(answerer):
    other = Retriever(answerer.retriever.index, answerer.retriever.embedder, "keyword")
    moved = answerer.over(other)
    assert moved.retriever is other and answerer.retriever is not other
    assert moved.queue is answerer.queue and moved.generator is answerer.generator
