"""Answer sentences: citation numbers, markers, and the removal of a sentence its support does not carry."""
from __future__ import annotations

from app.answering.sentences import joined, sentence, verified
from app.schemas import Citation, Support

PASSAGE = "The lighthouse was built in 1872. Its lamp was converted to electricity in 1931."
CITATIONS = [Citation(source="club.html", chunk_id="1", text="The club meets on Thursdays.", score=1, similarity=0.5,
                      start=0, end=28),
             Citation(source="lighthouse.txt", chunk_id="2", text=PASSAGE, score=1, similarity=0.5, start=100, end=182)]


def span(text: str) -> Support:
    start = 100 + PASSAGE.index(text)
    return Support(source="lighthouse.txt", chunk_id="2", start=start, end=start + len(text), text=text)


def test_a_sentence_cites_the_passage_that_holds_its_support_and_the_answer_marks_it():
    built = sentence("The lighthouse was built in 1872.", [span("The lighthouse was built in 1872.")], CITATIONS)
    assert built.citations == [2]
    assert joined([built, built]) == "The lighthouse was built in 1872. [2] The lighthouse was built in 1872. [2]"


def test_a_sentence_its_support_does_not_carry_is_removed_and_counted():
    good = sentence("Its lamp was converted to electricity in 1931.", [span("Its lamp was converted to electricity in 1931.")],
                    CITATIONS)
    bad = sentence("Its lamp was converted to gas in 1931.", [span("Its lamp was converted to electricity in 1931.")],
                   CITATIONS)
    kept, removed = verified([good, bad])
    assert kept == [good] and removed == 1
