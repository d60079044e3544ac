"""SQuAD v1.1 scoring and loading, on hand-written examples."""
from __future__ import annotations

import json

import pytest

from bench.squad import exact_match, f1, load_questions, normalize_answer


@pytest.mark.parametrize(("text", "normalised"), [
    ("The Denver Broncos", "denver broncos"),
    ("  an   apple,  a pear!  ", "apple pear"),
    ("U.S. $1,000", "us 1000"),
    ("Anthem and theory", "anthem and theory"),  # articles only as whole words
    ("THE", ""),
])
def test_normalize_answer(text, normalised):
    assert normalize_answer(text) == normalised


def test_exact_match_ignores_case_punctuation_and_articles():
    assert exact_match("the Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0


def test_exact_match_takes_the_best_gold_answer():
    assert exact_match("Broncos", ["Denver Broncos", "Broncos"]) == 1.0


def test_f1_of_a_partial_answer():
    # precision 1/1, recall 1/2
    assert f1("Denver", ["Denver Broncos"]) == pytest.approx(2 / 3)
    # precision 2/4 ("in" and "of" are not articles), recall 2/2
    assert f1("in February of 2016", ["February 2016"]) == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_f1_takes_the_best_gold_answer():
    assert f1("Broncos", ["Denver Broncos", "Broncos", "Carolina"]) == 1.0


def test_f1_counts_repeated_tokens_once_per_occurrence():
    # prediction tokens: cat cat (articles dropped); one matches: precision 1/2, recall 1/1
    assert f1("the cat a cat", ["cat"]) == pytest.approx(2 / 3)


def test_no_overlap_and_empty_predictions_score_zero():
    assert f1("Carolina Panthers", ["Denver Broncos"]) == 0.0
    assert f1("", ["Denver Broncos"]) == 0.0
    assert exact_match("", ["Denver Broncos"]) == 0.0


def test_load_questions(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"version": "1.1", "data": [{
        "title": "Fresno,_California",
        "paragraphs": [{"context": "Fresno is in the San Joaquin Valley.", "qas": [
            {"id": "q1", "question": "Where is Fresno?",
             "answers": [{"answer_start": 13, "text": "the San Joaquin Valley"},
                         {"answer_start": 17, "text": "San Joaquin Valley"}]},
        ]}],
    }]}))
    [question] = load_questions(path)
    assert question.id == "q1"
    assert question.question == "Where is Fresno?"
    assert question.answers == ("the San Joaquin Valley", "San Joaquin Valley")
    assert question.title == "Fresno,_California"
    assert question.context == "Fresno is in the San Joaquin Valley."
