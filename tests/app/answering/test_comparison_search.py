"""A comparison whose second side the question's search does not reach: that side's own search finds its sentence."""
from __future__ import annotations

import asyncio

import pytest

from app.answering.answerer import Answerer
from app.answering.comparison import about, compared
from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline
from tests.conftest import write_documents

pytestmark = pytest.mark.slow

QUESTION = "What is the difference between a kettle and a samovar?"

# Much on kettles and how kettles differ, in several passages; samovars in one passage of a page on tea.
KETTLES = {
    "kettles.txt": "Kettles\n\n" + "\n\n".join([
        "A kettle is a vessel for boiling water, with a lid, a spout and a handle. The difference between an electric "
        "kettle and a stovetop kettle is how the water is heated: an element in its base, or a flame beneath it. An "
        "electric kettle switches itself off when the water boils, so the kettle never boils dry.",
        "The main difference between a whistling kettle and a plain kettle is the whistle on the spout, which sounds "
        "when the water boils, so the cook hears the kettle from another room. Kettles are made of stainless steel, "
        "enamelled iron or copper, and a copper kettle heats the quickest of them.",
        "Limescale builds up inside a kettle where the water is hard, and it makes a difference to how fast the kettle "
        "boils. A kettle is descaled with vinegar or citric acid: the kettle is half filled, boiled, left to stand "
        "for an hour and rinsed.",
        "The difference between a large kettle and a small kettle is how much water they hold: kettles hold between "
        "half a litre and two litres, and a travel kettle folds flat to fit in a suitcase.",
    ]) + "\n",
    "tea.txt": "Tea in Russia\n\n" + "\n\n".join([
        "Tea reached Russia from China in the seventeenth century, carried by caravans across Siberia, and by the "
        "nineteenth century it was drunk in every class of household, from the merchants of Moscow to the peasants "
        "of the villages, often several times a day and always with guests.",
        "A samovar is a tall metal urn, heated by charcoal in a pipe through its middle, that keeps water hot for "
        "hours. A teapot of strong tea sits on its crown, and each cup is the strong tea thinned with hot water.",
        "Tea was served in glasses set in metal holders, with sugar, lemon or jam on the side, and the talk at the "
        "table went on for as long as the pot held out.",
    ]) + "\n",
}

def test_a_comparison_finds_the_side_its_question_did_not_search(tmp_path, embedder, chunker, generator, settings):
    """The question's one passage searched is on kettles (asserted): the samovar's sentence comes from the samovar's own
    search, and is cited like any other."""
    settings = settings.model_copy(update={"explain_top_k": 1})
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(write_documents(tmp_path / "docs", KETTLES))
    try:
        answerer = Answerer(Retriever(index, embedder), generator, settings)
        searched = answerer.retriever.search(QUESTION, settings.explain_top_k)
        assert {hit.source for hit in searched} == {"kettles.txt"}  # the samovar is not among the passages searched
        response = asyncio.run(answerer.ask(QUESTION, 1, style="explain"))
    finally:
        index.close()
    assert response.shape == "explain" and not response.abstained
    kettle, samovar = compared(QUESTION)
    said = [s.support[0] for s in response.sentences]
    assert any(about(s, kettle, samovar) for s in said), response.answer
    assert any(about(s, samovar, kettle) and s.source == "tea.txt" for s in said), response.answer
    for sentence in response.sentences:  # each cites passages the answer lists, and those hold its support
        assert sentence.citations and all(1 <= n <= len(response.citations) for n in sentence.citations)
        cited = [response.citations[n - 1] for n in sentence.citations]
        assert all(any(c.chunk_id == s.chunk_id for c in cited) for s in sentence.support)
