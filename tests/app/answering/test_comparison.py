"""Comparisons of two things: the explanation says something of each side, not only of the one told more of."""
from __future__ import annotations

from app.answering.comparison import about, compared
from app.answering.explanation import explanation_evidence
from index.types import Hit

# A page that says much of tuples and one thing of lists alone, after a sentence on something else.
PAGE = ("A tuple consists of a number of values separated by commas. "
        "Though tuples may seem similar to lists, they are often used in different situations. "
        "Tuples are immutable, and usually contain a heterogeneous sequence of elements. "
        "Empty tuples are constructed by an empty pair of parentheses. "
        "A tuple with one item is constructed by following a value with a comma. "
        "Tuples can be used as keys if they contain only strings, numbers, or tuples. "
        "The del statement removes an item from a dictionary by its key. "
        "Lists are mutable, and their elements are usually homogeneous.")


def test_the_two_things_a_question_compares():
    assert compared("What is the difference between a list and a tuple?") == (frozenset({"list"}), frozenset({"tuple"}))
    assert compared("How do tuples differ from lists?") == (frozenset({"tuple"}), frozenset({"list"}))
    assert compared("Compare modules with packages.") == (frozenset({"module"}), frozenset({"package"}))
    assert compared("How did the 2010 drought compare with the one five years earlier?") is None  # one thing, twice
    assert compared("How is the work divided between the state and the union?") is None  # not a comparison
    assert compared("Why are tuples immutable?") is None
    # "path" is part of "pathlib": pathlib's page says "paths" throughout, so the word cannot tell the two apart.
    assert compared("What is the difference between os.path.join and pathlib?") == (frozenset({"os", "join"}),
                                                                                    frozenset({"pathlib"}))
    assert compared("What is the difference between a tuple and a namedtuple?") is None


def test_a_sentence_about_pathlib_that_says_paths_is_about_pathlib_alone():
    os_path_join, pathlib = compared("What is the difference between os.path.join and pathlib?")
    said = "class pathlib.PurePosixPath(*pathsegments): this path flavour represents non-Windows filesystem paths."
    sentence = Hit(chunk_id=1, source="pathlib.html", text=said, start=0, end=len(said), score=1, similarity=0.5)
    assert about(sentence, pathlib, os_path_join) and not about(sentence, os_path_join, pathlib)


def test_a_comparison_holds_a_sentence_about_each_side(embedder):
    page = Hit(chunk_id=1, source="datastructures.html", text=PAGE, start=0, end=len(PAGE), score=1, similarity=0.6)
    chosen = explanation_evidence("What is the difference between a list and a tuple?", [page], embedder, 4, 0.3)
    said = [s.text for s in chosen]
    assert len(said) == 4
    assert "Lists are mutable, and their elements are usually homogeneous." in said
    assert any(s.startswith("Tuples are immutable") or s.startswith("A tuple consists") for s in said)
    assert all(PAGE[s.start:s.end] == s.text for s in chosen)
