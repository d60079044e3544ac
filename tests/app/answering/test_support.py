"""The sentence-level support check: what it accepts, and what it must refuse."""
from __future__ import annotations

from app.answering.support import is_supported, unsupported_words

SUPPORT = ["The lighthouse at Varnholm was built in 1872 by the engineer Ada Brook.",
           "Its lamp was converted to electricity in 1931."]


def test_a_sentence_of_its_support_is_supported():
    assert is_supported("The lighthouse at Varnholm was built in 1872 by the engineer Ada Brook.", SUPPORT)
    assert is_supported("The lamp was converted to electricity in 1931.", SUPPORT)  # a shorter restatement


def test_a_changed_number_or_name_is_refused_and_named():
    assert unsupported_words("The lighthouse was built in 1873 by Ada Brook.", SUPPORT) == ["1873"]
    assert unsupported_words("The lighthouse was built by the engineer Marta Kowalski.", SUPPORT) == ["marta", "kowalski"]


def test_a_sentence_about_something_else_is_refused():
    assert not is_supported("The Riverside chess club meets every Thursday evening.", SUPPORT)


def test_a_negation_the_support_does_not_hold_is_refused():
    assert not is_supported("The lamp was not converted to electricity.", SUPPORT)


def test_nothing_supports_an_empty_claim_or_an_empty_support():
    assert not is_supported("It was.", SUPPORT)
    assert not is_supported("The lamp was converted to electricity in 1931.", [])


def test_plural_and_possessive_forms_count_as_the_same_word():
    assert is_supported("Varnholm's lighthouses were built in 1872.", SUPPORT)
