"""Answers become spans of the evidence: what the reader sees is what the documents say."""
from __future__ import annotations

from app.answering.answer_span import answer_span, locate, trim_to_new_words
from app.answering.citations import quote_of
from index.types import Hit


def _hit(i: int, text: str, start: int = 0) -> Hit:
    return Hit(chunk_id=i, source="games.md", text=text, start=start, end=start + len(text), score=1.0, similarity=0.6)


def test_an_answer_the_model_retyped_is_given_in_the_documents_own_characters():
    evidence = [_hit(1, "The Broncos beat the Steelers 23–16 in the divisional round.")]
    answer, span = answer_span("23-16", "What was the final score?", evidence)
    assert answer == "23–16"  # the en dash of the document, not the model's hyphen
    assert evidence[span.passage].text[span.start:span.end] == answer


def test_words_the_question_already_says_are_cut_from_the_edges():
    assert trim_to_new_words("308 points", "How many points did the defense surrender?") == "308"
    assert trim_to_new_words("the Pittsburgh Steelers", "Who did the Broncos beat?") == "Pittsburgh Steelers"
    # An answer made only of the question's words is kept whole: it may be the choice the question offers.
    assert trim_to_new_words("the Steelers", "Who won, the Broncos or the Steelers?") == "the Steelers"
    assert trim_to_new_words("f(x)", "What is it?") == "f(x)"
    # An instruction keeps its command even when the question names it.
    assert trim_to_new_words("DELETE /documents/{id}", "How do I delete a document?") == "DELETE /documents/{id}"


def test_a_paraphrase_maps_onto_the_evidence_words_it_overlaps_most():
    evidence = [_hit(1, "Kickoff is at noon."), _hit(2, "The tower was designed by the firm of Gustave Eiffel in 1884.")]
    span = locate("Gustave Eiffel's firm", evidence)
    assert span.passage == 1
    assert "Gustave Eiffel" in evidence[1].text[span.start:span.end]
    assert locate("Marie Curie", evidence) is None  # the evidence does not say it: no span


def test_a_paraphrased_command_keeps_its_closing_brackets_and_backticks():
    evidence = [_hit(1, "To delete a document, send `DELETE /documents/{id}` with the document's id from `GET /documents`.")]
    answer, _ = answer_span("Send a DELETE request to /documents/{id}", "How do I delete a document?", evidence)
    assert answer == "send `DELETE /documents/{id}`"  # not the word window's "send `DELETE /documents/{id"


def test_the_quote_is_the_sentence_that_holds_the_answer_with_document_offsets():
    document = "Season recap. The defense allowed 308 points. Kony Ealy had five sacks."
    start = document.index("The defense")
    evidence = [_hit(4, document[start:], start=start)]
    answer, span = answer_span("308 points", "How many points did the defense allow?", evidence)
    quote = quote_of(span, evidence)
    assert answer == "308"
    assert quote.text == "The defense allowed 308 points."
    assert document[quote.start:quote.end] == quote.text


def test_an_answer_from_a_hard_wrapped_document_reads_on_one_line():
    evidence = [_hit(1, "To make installs repeatable, pin every\nrequirement with == in a requirements file.")]
    answer, span = answer_span("pin every requirement", "How do I make installs repeatable?", evidence)
    assert answer == "pin every requirement"
    assert evidence[0].text[span.start:span.end] == "pin every\nrequirement"


def test_an_answer_from_a_table_row_stays_inside_one_cell():
    evidence = [_hit(1, "| `RAGQA_VECTOR_STORE` | `faiss` | Where the vectors are kept: `faiss` or `milvus`. |")]
    answer, span = answer_span("` | `faiss", "Which vector stores can ragqa use?", evidence)
    assert answer == "`faiss`"
    assert evidence[0].text[span.start:span.end] == "`faiss`"


def test_a_list_question_answered_with_its_own_words_names_no_item():
    passage = _hit(0, "In this section, we'll cover some new metacharacters, and how to use groups to retrieve text.")
    answer, span = answer_span("metacharacters", "Which metacharacters does the re module use?", [passage], several=True)
    assert span is None  # not widened into "section, we'll cover some new metacharacters, and how to use groups to"
