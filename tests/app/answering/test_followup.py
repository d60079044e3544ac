"""Follow-up questions as text: which ones lean on the conversation, and how they read rewritten to stand alone."""
from __future__ import annotations

import pytest

from app.answering.followup import (
    asked_again,
    conversation_text,
    named_in,
    named_thing,
    one_of_its_kind,
    recent_turns,
    reference_in,
    referent_in,
    standalone,
    which_of_them,
)
from app.schemas import Turn


@pytest.mark.parametrize("question", [
    "Who built the lighthouse at Varnholm?",
    "When was the lighthouse at Varnholm converted to electricity?",
    "How old was Peyton Manning when he played in Super Bowl 50?",  # "he" has its antecedent in the question
    "What did the Riverside chess club founders call their first tournament?",
    "How long does sourdough dough rest before it is baked?",
    "What is it called when a loaf rises twice?",  # an "it" that stands for nothing
])
def test_a_question_that_names_its_subject_stands_alone(question):
    assert reference_in(question) is None


@pytest.mark.parametrize("question, kind, word", [
    ("How tall is it?", "pronoun", "it"),
    ("When was she born?", "pronoun", "she"),
    ("What was his first job?", "pronoun", "his"),
    ("How many Grammys has it won?", "pronoun", "it"),  # "Grammys" cannot be an "it"
    ("When were they defeated by the Tran?", "pronoun", "they"),
    ("When was this edict declared?", "demonstrative", "this edict"),
    ("How many people live there?", "there", "there"),
    ("What about the bread?", "ellipsis", ""),
    ("Who is the chair?", "ellipsis", ""),
])
def test_a_question_that_points_back_is_recognised(question, kind, word):
    reference = reference_in(question)
    assert reference is not None and reference.kind == kind and reference.word == word


@pytest.mark.parametrize("question, referent, expected", [
    ("How tall is it?", "the lighthouse at Varnholm", "How tall is the lighthouse at Varnholm?"),
    ("What was his first job?", "Tesla", "What was Tesla's first job?"),
    ("Who led them in sacks?", "the Panthers", "Who led the Panthers in sacks?"),
    ("What is their main export?", "the Normans", "What is the Normans' main export?"),
    ("How many people live there?", "Warsaw", "How many people live in Warsaw?"),
    ("When was this edict declared?", "the Edict of Nantes", "When was the Edict of Nantes declared?"),
    ("When was this edict declared?", "Louis XIV", "When was the edict (Louis XIV) declared?"),
    ("Who is the chair?", "the IPCC", "Who is the chair (the IPCC)?"),
])
def test_the_referent_is_written_where_the_question_pointed_back(question, referent, expected):
    assert standalone(question, reference_in(question), referent) == expected


def test_the_oldest_turns_are_dropped_first_to_fit_the_budget():
    history = [Turn(role="user", content="a" * 300), Turn(role="assistant", content="b" * 300),
               Turn(role="user", content="c" * 100), Turn(role="assistant", content="d" * 50)]
    assert [t.content[0] for t in recent_turns(history, 500)] == ["b", "c", "d"]
    assert [t.content[0] for t in recent_turns(history, 10)] == ["d"]  # the latest always stays
    assert len(conversation_text(recent_turns(history, 10), 10)) == 10


def test_the_models_phrase_must_come_from_the_conversation():
    conversation = "Question: Who built the lighthouse at Varnholm?\nAnswer: Ada Brook"
    assert referent_in("The lighthouse at Varnholm.", conversation) == "the lighthouse at Varnholm"
    assert referent_in("ada brook", conversation) == "Ada Brook"
    assert referent_in("I don't know.", conversation) is None
    assert referent_in("Marta Kowalski", conversation) is None  # not said in this conversation
    assert referent_in("it", conversation) is None


def test_the_fallback_referent_is_the_longest_name_of_the_last_question():
    history = [Turn(role="user", content="Who won Super Bowl 50 in Santa Clara?"), Turn(role="assistant", content="the Broncos")]
    assert named_in(history) == "Super Bowl 50"


@pytest.mark.parametrize("previous, question, expected", [
    ("What does str.split return?", "And str.rsplit?", "What does str.rsplit return?"),
    ("How do I use `os.path.join()`?", "What about `os.path.split`?", "How do I use `os.path.split()`?"),
    ("Does Python 3 have a switch statement?", "What about Python 2?", "Does Python 2 have a switch statement?"),
    ("What is the population of Warsaw?", "And Krakow?", "What is the population of Krakow?"),
    ("What is the population of Warsaw?", "And the area?", None),  # no name: the subject is left out
    ("When did the Franks invade Gaul?", "What about the Normans?", None),  # two names: chosen as any ellipsis is
])
def test_the_last_question_asked_again_of_another_name(previous, question, expected):
    turns = [Turn(role="user", content=previous), Turn(role="assistant", content="An answer.")]
    assert asked_again(question, turns) == expected


@pytest.mark.parametrize("previous, question, expected", [
    ("What does RAGQA_MAX_NEW_TOKENS set?", "What is its default?", "What is RAGQA_MAX_NEW_TOKENS's default?"),
    ("What does str.split return?", "Is it faster than re.split?", "Is str.split faster than re.split?"),
    ("Who built the lighthouse at Varnholm?", "How tall is it?", None),  # no name written as code: chosen by search
    ("What is the difference between json.dump and json.dumps?", "Is it faster?", None),  # two: which one?
])
def test_it_is_the_one_name_the_last_question_wrote_as_code(previous, question, expected):
    long_answer = [Turn(role="user", content=previous), Turn(role="assistant", content="An answer. " * 100)]
    assert named_thing(question, reference_in(question), long_answer) == expected


@pytest.mark.parametrize("previous, question, expected", [
    ("What is the difference between json.dump and json.dumps?", "Which one writes to a file?",
     "Which of json.dump and json.dumps writes to a file?"),
    ("Compare `list.sort` and `sorted()`.", "Which of them returns a new list?",
     "Which of list.sort and sorted returns a new list?"),
    ("What does str.split return?", "Which one is faster?", None),  # one name: no choice between two
    ("What is the difference between json.dump and json.dumps?", "Which file does it write?", None),
])
def test_which_one_chooses_between_the_two_names_of_the_last_question(previous, question, expected):
    turns = [Turn(role="user", content=previous), Turn(role="assistant", content="An answer.")]
    assert which_of_them(question, turns) == expected


def test_which_one_chooses_between_the_names_of_the_last_two_questions():
    turns = [Turn(role="user", content="What does copy.deepcopy do?"), Turn(role="assistant", content="An answer."),
             Turn(role="user", content="And copy.copy?"), Turn(role="assistant", content="Another answer.")]
    assert (which_of_them("Which one should I use for a list of lists?", turns)
            == "Which of copy.deepcopy and copy.copy should I use for a list of lists?")
    same = [*turns[:2], Turn(role="user", content="What does copy.deepcopy return?"), turns[3]]
    assert which_of_them("Which one is faster?", same) is None  # one name twice: no choice between two


@pytest.mark.parametrize("question, expected", [
    ("How do I make one?", "How do I make a daemon thread?"),
    ("Which one?", None),  # a choice, not one of the kind
    ("Can a program have more than one?", None),  # a number
])
def test_one_is_one_of_the_term_the_last_question_asked_about(question, expected):
    turns = [Turn(role="user", content="What is a daemon thread?"), Turn(role="assistant", content="An answer.")]
    assert one_of_its_kind(question, turns) == expected
