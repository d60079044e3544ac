"""Grounding: abstention, trimming loops, and quotes that are verbatim slices of the cited documents."""
from __future__ import annotations

from app.answering.abstention import evidence_is_too_weak, model_abstained, question_coverage
from app.answering.answer_span import clean_answer, trim_repetition
from app.answering.citations import best_quote
from index.types import Hit


def _hit(i: int, text: str, source: str = "a.txt", similarity: float = 0.6, start: int = 0) -> Hit:
    return Hit(chunk_id=i, source=source, text=text, start=start, end=start + len(text), score=1.0,
               similarity=similarity)


def test_abstention_rules():
    question = "How tall is the Varnholm lighthouse?"
    assert evidence_is_too_weak(question, [], 0.3, 0.2)
    assert evidence_is_too_weak(question, [_hit(1, "x", similarity=0.1)], 0.3, 0.2)
    assert not evidence_is_too_weak(question, [_hit(1, "x", similarity=0.1), _hit(2, "y", similarity=0.5)], 0.3, 0.2)
    # Equally similar evidence: the one naming what was asked about is enough, the one on a neighbouring topic is not.
    on_topic = _hit(1, "The Varnholm lighthouse stands 41 metres tall.", similarity=0.45)
    neighbour = _hit(2, "The Skagen lighthouse is painted white.", similarity=0.45)
    assert question_coverage(question, [on_topic]) == 1.0 and question_coverage(question, [neighbour]) == 1 / 3
    assert not evidence_is_too_weak(question, [on_topic], 0.55, 0.2)
    assert evidence_is_too_weak(question, [neighbour], 0.55, 0.2)
    assert model_abstained("I don't know.") and model_abstained("  ")
    assert not model_abstained("It is 41 metres tall [1].")


def test_an_answer_stuck_in_a_loop_is_cut_after_its_first_round():
    looping = "Run this:\n\n```bash\npython -m ingest --index --index --index --index --index"
    assert trim_repetition(looping) == "Run this:"
    assert trim_repetition("The answer is:\n\nThe answer is:\n\nThe answer is:") == "The answer is:"
    kept = "It stands 41 metres tall [1]. It was built in 1872."
    assert trim_repetition(kept) == kept


def test_quote_is_the_cited_sentence_that_supports_the_answer_with_document_offsets():
    document = "Intro line.\nThe lighthouse was built in 1872. It stands 41 metres tall. Its lamp is electric."
    start = document.index("The lighthouse")
    passage = _hit(7, document[start:], "light.txt", start=start)
    other = _hit(8, "Bread needs 41 grams of salt per batch, says the baker.", "bread.txt")
    quote = best_quote("It is 41 metres tall.", "How tall is the lighthouse?", [passage, other])
    assert quote.text == "It stands 41 metres tall."
    assert (quote.source, quote.chunk_id) == ("light.txt", "7")
    assert document[quote.start:quote.end] == quote.text


def test_quote_falls_back_to_the_question_when_the_answer_shares_no_words():
    passage = _hit(1, "Bees make honey. The hive holds ten thousand bees.")
    quote = best_quote("Ten thousand.", "How many bees does the hive hold?", [passage])
    assert quote.text == "The hive holds ten thousand bees."


def test_no_passages_no_quote():
    assert best_quote("anything", "question?", []) is None


def test_clean_answer_keeps_the_phrase_only():
    assert clean_answer('"Gustave Eiffel" [1].') == "Gustave Eiffel"
    assert clean_answer("In 1889.") == "In 1889"
    assert clean_answer("about 3.5 m.") == "about 3.5 m."  # not a sentence's period
