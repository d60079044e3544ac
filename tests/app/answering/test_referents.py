"""A follow-up's referent chosen by retrieval (no model): the phrases a conversation offers, which of them a
reference can mean, and the one whose question the documents answer — with the real embedder and index."""
from __future__ import annotations

import pytest

from app.answering.followup import reference_in
from app.answering.referents import Candidate, agrees, candidates, choose
from app.schemas import Turn
from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline


def conversation(question: str, answer: str) -> list[Turn]:
    return [Turn(role="user", content=question), Turn(role="assistant", content=answer)]


def test_the_candidates_are_the_names_and_noun_phrases_of_the_latest_turns():
    phrases = [c.phrase for c in candidates(conversation("Who built the lighthouse at Varnholm?", "Ada Brook"))]
    assert phrases[0] == "Ada Brook"  # the latest turn first
    assert {"Varnholm", "the lighthouse"} <= set(phrases)
    assert "Who" not in phrases and "built" not in phrases
    phrases = [c.phrase for c in candidates(conversation("What is the atomic number of oxygen?", "8"))]
    assert {"the atomic number", "oxygen"} <= set(phrases)


def test_an_answer_that_found_nothing_offers_nothing():
    turns = conversation("Who won?", "The documents do not contain an answer to this question.")
    assert all(c.role == "user" for c in candidates(turns))


def test_a_short_answer_to_a_who_question_is_known_to_be_a_person():
    by_phrase = {c.phrase: c for c in candidates(conversation("Who founded the Riverside chess club?", "Marta Kowalski"))}
    assert by_phrase["Marta Kowalski"].answers == "person"
    assert by_phrase["the Riverside chess club"].answers == ""


def test_an_api_an_answer_names_as_code_is_what_it_may_mean():
    answer = ("@functools.lru_cache(maxsize=128, typed=False) — Decorator to wrap a function with a memoizing callable "
              "that saves up to the maxsize most recent calls. [1] It can save time when an expensive or I/O bound "
              "function is periodically called with the same arguments. [1]")
    by_phrase = {c.phrase: c for c in candidates(conversation("How do I cache the results of a slow function?", answer))}
    assert by_phrase["functools.lru_cache"].answers == "thing"


@pytest.mark.parametrize("question, phrase, named, fits", [
    ("When was she born?", "Ada Brook", True, True),
    ("When was she born?", "the lighthouse", False, False),  # "she" is a person: a name
    ("How many people live there?", "1872", True, False),  # "there" is a place
    ("Where do they meet?", "Marta Kowalski", True, False),  # one person is no "they"
    ("Where do they meet?", "the Broncos", True, True),
    ("When was this edict declared?", "the edict of 1685", False, True),
    ("When was this edict declared?", "the lighthouse", False, False),
])
def test_a_candidate_must_agree_with_the_reference(question, phrase, named, fits):
    assert agrees(reference_in(question), Candidate(phrase, 0, "user", named)) is fits


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, embedder, settings):
    from ingest.chunking import Chunker
    from tests.conftest import write_documents

    work = tmp_path_factory.mktemp("referents")
    index = IndexDirectory.open_for_writing(work / "index", embedder.name, embedder.dimension)
    chunker = Chunker(embedder.tokenizer, settings.chunk_tokens, settings.chunk_overlap_tokens)
    IngestPipeline(index, embedder, chunker).run(write_documents(work / "docs"))
    yield Retriever(index, embedder)
    index.close()


LIGHTHOUSE = conversation("Who built the lighthouse at Varnholm?", "Ada Brook")
CLUB = conversation("Who founded the Riverside chess club?", "Marta Kowalski")


@pytest.mark.parametrize("turns, question, referents, source", [
    (LIGHTHOUSE, "How tall is it?", ("the lighthouse", "Varnholm"), "lighthouse.txt"),
    (LIGHTHOUSE, "When was she born?", ("Ada Brook",), "lighthouse.txt"),  # the answer to "who" is the person
    (CLUB, "When did she win the regional championship?", ("Marta Kowalski",), "club.html"),
    (CLUB, "When does it meet?", ("Riverside chess club",), "club.html"),
])
def test_a_follow_up_is_searched_with_the_phrase_it_points_back_to(retriever, turns, question, referents, source):
    choice = choose(question, reference_in(question), turns, retriever)
    assert any(referent in (choice.referent or "") for referent in referents), choice
    assert choice.referent in choice.question and choice.question != question
    assert retriever.search(choice.question, 1)[0].source == source


@pytest.mark.parametrize("question", ["What is sourdough?", "What is in the dough?"])
def test_a_short_question_about_something_else_is_searched_as_written(retriever, question):
    reference = reference_in(question)
    assert reference is not None  # short and naming nothing: it might have been an ellipsis
    choice = choose(question, reference, LIGHTHOUSE, retriever)
    assert choice.question == question and choice.referent is None
    assert retriever.search(choice.question, 1)[0].source == "baking/bread.md"
