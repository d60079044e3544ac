"""The hybrid ranking's second stage: the share of a query's rare words that one sentence holds."""
from __future__ import annotations

import pytest

from index.sentence_match import query_weights, sentence_shares, stem, text_shares


def test_inflections_match_their_stem():
    assert stem("Trees") == stem("tree") and stem("ruled") == stem("rule") == stem("rules")
    assert stem("colonies") == stem("colony") and stem("bus") == "bus"


def test_rare_words_weigh_more_than_common_ones():
    weights = query_weights({"keeper": 2, "island": 90}, 100)
    assert weights["keeper"] > 3 * weights["island"] > 0


def test_one_sentence_holding_the_rare_words_beats_them_spread_over_a_passage():
    weights = query_weights({"lighthouse": 3, "keeper": 4, "salt": 2}, 1000)
    together = "The island is small. The lighthouse keeper was paid in salt. Ships pass at night."
    spread = "The lighthouse is tall. Its keeper is old. Salt comes by boat. The lighthouse is white."
    (one_together, two_together), (one_spread, two_spread) = sentence_shares(weights, [together, spread])
    assert one_together == pytest.approx(1.0) and one_spread < 0.5
    assert two_spread < 1.0 and two_together == pytest.approx(1.0)


def test_no_query_weight_scores_every_passage_zero():
    assert sentence_shares({}, ["Anything at all.", ""]) == [(0.0, 0.0), (0.0, 0.0)]


def test_a_sentence_share_is_the_weight_of_the_query_words_it_holds_in_any_inflection():
    weights = query_weights({"lighthouse": 3, "keeper": 4}, 1000)
    named, unnamed = text_shares(weights, ["Ole Brandt kept the lighthouse; its keepers came later.", "Nothing here."])
    assert named == 1.0 and unnamed == 0.0
    assert text_shares({}, ["Anything."]) == [0.0]


def test_a_name_in_code_holds_its_words_as_the_keyword_index_splits_them():
    # FTS5 counts "lru_cache" as "lru" and "cache": a sentence naming it holds the word "cache" of "How do I cache …?"
    assert text_shares({stem("cache"): 1.0}, ["@functools.lru_cache(maxsize=128, typed=False)"]) == [1.0]
    # and a name the question writes as code is held as written
    assert text_shares({stem("read_text"): 1.0}, ["Path.read_text(encoding=None) — Return the decoded contents."]) == [1.0]
