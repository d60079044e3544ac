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
from tests.conftest import write_documents

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
    yield from _answerer_over({"errors.txt": EXCEPTIONS, "orlen.txt": ORLEN}, tmp_path, embedder, chunker, settings)


def _answerer_over(documents: dict[str, str], tmp_path, embedder, chunker, settings):
    """An answerer over an index of `documents` (name → text), closed after the test."""
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(write_documents(tmp_path / "docs", documents))
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


def test_a_cause_stated_as_a_result_of_something_is_a_reason():
    said = ["This is not a bug: it is a result of the fact that most decimal fractions cannot be stored exactly."]
    assert gives_reason("Why does the sum print 0.30000000000000004?", said, 0.6)


# A page of questions and answers whose answers do not repeat their question's words (as the CPython FAQs do).
FAQ = """Bramble design FAQ

Why does Bramble use indentation for grouping statements?

The designers believe that indentation makes programs shorter and clearer. There is no way to write a block that
looks correct but is not.

Why isn't there a goto or jump statement in Bramble?

You can do this easily enough with a loop and a break. For leaving several loops at once, put them in a function and
return from it. Labels were tried in an early version and removed within a year.

Why are Bramble strings immutable?

Knowing that a string never changes lets the runtime share it between threads without locks.
"""


@pytest.fixture()
def faq_answerer(tmp_path, embedder, chunker, settings):
    yield from _answerer_over({"faq.txt": FAQ, "orlen.txt": ORLEN}, tmp_path, embedder, chunker, settings)


def test_a_why_question_the_documents_ask_themselves_is_answered_by_their_answer_to_it(faq_answerer):
    """The FAQ's answer shares no word with "Why is there no goto statement in Bramble?" and gives no "because": it is
    the answer all the same, since the page asks that very question and answers it."""
    response = asyncio.run(faq_answerer.ask("Why is there no goto statement in Bramble?", 4))
    assert not response.abstained, response.answer
    assert response.answer.startswith("You can do this easily enough with a loop and a break.")
    assert "indentation" not in response.answer and "immutable" not in response.answer  # not the neighbouring entries
