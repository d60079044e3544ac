"""A question that asks for several things gets every item of the list its answer stands in, and no more."""
from __future__ import annotations

import pytest

from app.answering.answer_span import answer_span
from app.answering.enumeration import whole_list
from index.types import Hit

VILLAINS = ("The Doctor has gained numerous reoccurring enemies during his travels, including the Daleks, "
            "the Cybermen, and the Master, another renegade Time Lord.")


def widened(text: str, span: str) -> str:
    start = text.index(span)
    a, b = whole_list(start, start + len(span), text)
    return text[a:b]


@pytest.mark.parametrize("text, span, expected", [
    (VILLAINS, "Daleks, the Cybermen", "Daleks, the Cybermen, and the Master"),
    ("Soon after the Normans began to enter Italy, they entered the Byzantine Empire and then Armenia, fighting "
     "against the Pechenegs, the Bulgars, and especially the Seljuk Turks.", "Seljuk Turks",
     "the Pechenegs, the Bulgars, and especially the Seljuk Turks"),
    ("Ingest reads .txt, .md, .html and .pdf files.", ".md", ".txt, .md, .html and .pdf files"),
    ("The West Side is home to Mexican Americans, Armenians, and Hmong families.", "Armenians",
     "Mexican Americans, Armenians, and Hmong families"),
])
def test_one_item_is_widened_to_the_whole_list(text, span, expected):
    assert widened(text, span) == expected


@pytest.mark.parametrize("text, span", [
    ("In 1990 he moved to Paris, and in 1995 he went to Rome.", "Paris"),  # two clauses, not a list
    ("The club meets on Thursday, and its founder won in 1998.", "Thursday"),
    ("The neighborhood is the center of Fresno's African-American community.", "African-American"),  # no list
    ("They work for large companies (primarily Omnicare, Kindred Healthcare and PharMerica).",
     "Omnicare, Kindred Healthcare and PharMerica"),  # already the whole list
    ("Members of the police and the armed forces are disqualified as MSPs, and similarly, civil servants "
     "and members of foreign legislatures are disqualified.", "civil servants and members of foreign legislatures"),
])
def test_an_answer_that_is_not_one_item_of_a_list_is_left_as_it_is(text, span):
    assert widened(text, span) == span


def test_only_a_question_for_several_things_gets_the_whole_list():
    evidence = [Hit(chunk_id=1, source="who.md", text=VILLAINS, start=0, end=len(VILLAINS), score=1.0, similarity=0.6)]
    several, span = answer_span("the Daleks", "Who are some of the Doctor's enemies?", evidence, several=True)
    assert several == "Daleks, the Cybermen, and the Master"  # ("the": a word the question says, cut at the edge)
    assert VILLAINS[span.start:span.end] == several  # still a verbatim span of the document
    one, _ = answer_span("Daleks", "Which enemy did the Doctor meet first?", evidence)
    assert one == "Daleks"
