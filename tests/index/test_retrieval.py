"""Dense, keyword and hybrid retrieval find the passage that holds the answer."""
from __future__ import annotations

import pytest

from index.directory import IndexDirectory
from index.retrieval import Retriever, reciprocal_rank_fusion
from ingest.pipeline import IngestPipeline


def test_rrf_rewards_agreement_between_rankings():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1, 4]], k=60)
    assert [i for i, _ in fused] == [1, 3, 2, 4]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def test_rrf_of_one_ranking_keeps_its_order():
    assert [i for i, _ in reciprocal_rank_fusion([[5, 9, 2]])] == [5, 9, 2]


@pytest.fixture()
def retriever(docs_folder, tmp_path, embedder, chunker):
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs_folder)
    yield Retriever(index, embedder)
    index.close()


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid", "rrf"])
@pytest.mark.parametrize(("query", "source"), [
    ("Who built the lighthouse?", "lighthouse.txt"),
    ("How long does sourdough dough rest?", "baking/bread.md"),
    ("When does the chess club meet?", "club.html"),
])
def test_each_mode_ranks_the_right_document_first(retriever, mode, query, source):
    hits = retriever.search(query, 3, mode)
    assert hits[0].source == source
    assert all(h.similarity > -1.0 for h in hits)


def test_keyword_only_hits_still_carry_a_cosine_similarity(retriever):
    hits = retriever.search("Kowalski", 2, "keyword")
    assert hits[0].source == "club.html" and 0.0 < hits[0].similarity <= 1.0


def test_hits_point_at_their_text_in_the_stored_document(retriever):
    for hit in retriever.search("lighthouse electricity", 3):
        assert retriever.index.store.document_text(hit.source)[hit.start:hit.end] == hit.text


def test_a_misspelt_mode_is_refused_by_name_not_run_as_another(retriever):
    with pytest.raises(ValueError, match="unknown retrieval mode 'hybird'.*hybrid, rrf, dense, keyword"):
        Retriever(retriever.index, retriever.embedder, "hybird")
    with pytest.raises(ValueError, match="unknown retrieval mode 'hybird'"):
        retriever.search("Who built the lighthouse?", 3, "hybird")


# A question worded apart from its answer: no rare word in common, and the answer is one sentence of a long
# paragraph about other things, so the chunk's vector is far from the question; the sentence's is not.
HARBOUR = ("The harbour town of Elmsworth grew around its fishing fleet in the eighteenth century. Its council later "
           "built a new sea wall, a covered market and a school for the children of the fishermen. The railway reached "
           "the town in 1871 and brought summer visitors from the cities inland. During the dock strike of 1911 the "
           "workers who marched through the town wanted an eight-hour day and a fixed wage for unloading coal. Today "
           "the old warehouses hold shops, a museum of the fleet and a small theatre. The lifeboat station, opened in "
           "1866, is still staffed by volunteers, and the lighthouse on the point was automated in 1990. Each August "
           "the regatta fills the bay with sailing boats.")
MILLS = ("The cotton mills of Ashby employed most of the valley. Their owners built rows of houses for the workers and a "
         "chapel on the hill. Water wheels drove the looms until steam engines replaced them in the 1840s.")


@pytest.mark.parametrize("sentence_vectors", [True, False])
def test_a_paraphrased_question_finds_the_one_sentence_that_answers_it(tmp_path, embedder, chunker, sentence_vectors):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "harbour.txt").write_text(HARBOUR)
    (folder / "mills.txt").write_text(MILLS)
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker, sentence_vectors=sentence_vectors).run(folder)
    top = Retriever(index, embedder).search("What did the demonstrators demand?", 2)[0]
    index.close()
    # With chunk vectors alone the short paragraph about workers wins; the harbour's strike sentence is the answer.
    assert top.source == ("harbour.txt" if sentence_vectors else "mills.txt")
