"""Why-questions: answered only when the explanation's sentences give a reason, else the abstention."""
from __future__ import annotations

import asyncio

import pytest

from app.answering.abstention import NOT_IN_DOCUMENTS
from app.answering.answerer import Answerer
from app.answering.reasons import asks_for_reason, coverage, gives_reason
from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline

# Sentences on exceptions that give no reason for them (as the CPython tutorial's errors page does).
EXCEPTIONS = ("Programs may name their own exceptions by creating a new exception class. "
              "Exceptions should typically be derived from the Exception class, either directly or indirectly. "
              "Most exceptions are defined with names that end in Error, similar to the naming of the standard "
              "exceptions. It is useful for code that must be executed if the try clause does not raise an exception.")
ORLEN = ("The railway line to Orlen was closed in 1971 because the coastal trade had moved to the new port. "
         "The station building now houses the town museum.")


def test_the_opening_says_whether_a_question_asks_for_a_reason():
    for question in ("Why does Python use exceptions?", "What made the doctors reject it?", "On what grounds did he object?",
                     "For what reason was it closed?", "How come the line closed?", "What was the main reason for the ban?"):
        assert asks_for_reason(question), question
    for question in ("What is an exception?", "How did the railway change Orlen?", "When was the line closed?"):
        assert not asks_for_reason(question), question


def test_sentences_on_the_subject_without_a_reason_give_none():
    question = "Why does Python use exceptions instead of return codes?"
    assert not gives_reason(question, EXCEPTIONS.split(". "), 0.6)
    assert gives_reason(question, [*EXCEPTIONS.split(". "), "Python uses exceptions because return codes are "
                                   "easily ignored."], 0.6)  # a reason in so many words
    assert not gives_reason("Why did the count rise?", ["The count has been kept since 1871."], 0.6)  # a date


def test_sentences_that_state_what_is_asked_about_carry_its_reason_in_their_own_words():
    question = "Why was the goalkeeper so heavily criticised in the final?"
    said = ["The goalkeeper did not dive for the ball, and his hesitation in the final earned him heavy criticism."]
    assert coverage(question, said) == 1.0  # criticised / criticism, heavily / heavy
    assert gives_reason(question, said, 0.6)


@pytest.fixture()
def answerer(tmp_path, embedder, chunker, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "errors.txt").write_text(EXCEPTIONS, encoding="utf-8")
    (docs / "orlen.txt").write_text(ORLEN, encoding="utf-8")
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs)
    yield Answerer(Retriever(index, embedder), _NoModel(), settings)
    index.close()


class _NoModel:
    """An explanation calls no model."""

    name = "none"

    def generate_batch(self, requests):
        raise AssertionError("an explanation makes no generation")


def test_a_why_question_whose_documents_give_no_reason_abstains(answerer):
    response = asyncio.run(answerer.ask("Why does Python use exceptions instead of return codes?", 4, style="explain"))
    assert response.abstained and response.answer == NOT_IN_DOCUMENTS and response.shape == "explain"
    assert response.sentences == []


def test_a_why_question_whose_documents_give_the_reason_is_answered(answerer):
    response = asyncio.run(answerer.ask("Why was the railway line to Orlen closed?", 4))
    assert not response.abstained and response.shape == "explain"
    assert "because the coastal trade had moved" in response.answer
