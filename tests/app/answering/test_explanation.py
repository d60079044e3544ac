"""An explanation's sentences: the closest ones to the question, each with the one after it, which goes on with it."""
from __future__ import annotations

from app.answering.explanation import as_read, explanation_evidence, in_reading_order
from index.types import Hit

TOWN = ("The railway reached Orlen in 1861 and linked the town to the coast. "
        "Within ten years the population had tripled and three factories opened. "
        "Orlen's railway station is a listed building. "
        "The railway line to Orlen was closed in 1971. "
        "Orlen is known for its red pottery.")


def _explained(question: str, text: str, embedder) -> list[Hit]:
    """The explanation's sentences from one passage holding `text`, each checked to be a verbatim span of it."""
    hit = Hit(chunk_id=2, source="notes.md", text=text, start=0, end=len(text), score=1, similarity=0.6)
    chosen = explanation_evidence(question, [hit], embedder, 4)
    assert all(text[s.start:s.end] == s.text for s in chosen)  # still verbatim spans of the document
    return chosen


def _town() -> Hit:
    return Hit(chunk_id=1, source="orlen.txt", text=TOWN, start=0, end=len(TOWN), score=1, similarity=0.6)


def test_an_explanation_keeps_the_sentence_that_continues_the_closest_one(embedder):
    chosen = in_reading_order(explanation_evidence("How did the railway change Orlen?", [_town()], embedder, 2))
    assert [s.text for s in chosen] == [
        "The railway reached Orlen in 1861 and linked the town to the coast.",
        "Within ten years the population had tripled and three factories opened.",
    ]
    assert all(TOWN[s.start:s.end] == s.text for s in chosen)


def test_every_chosen_sentence_brings_the_one_that_continues_it(embedder):
    text = ("The railway reached Orlen in 1861 and linked the town to the coast. Within ten years the population had "
            "tripled. Orlen is known for its red pottery. The harbour of Orlen was rebuilt in 1880 to take the railway's "
            "freight. Its new quays handled grain for export. The town hall has a clock tower.")
    hit = Hit(chunk_id=1, source="orlen.txt", text=text, start=0, end=len(text), score=1, similarity=0.6)
    chosen = in_reading_order(explanation_evidence("How did the railway and the harbour change Orlen?", [hit], embedder,
                                                   4, 0.3))
    assert [s.text for s in chosen] == [  # two pairs, each in the document's order; not the pottery, closer alone
        "The railway reached Orlen in 1861 and linked the town to the coast.",
        "Within ten years the population had tripled.",
        "The harbour of Orlen was rebuilt in 1880 to take the railway's freight.",
        "Its new quays handled grain for export.",
    ]


def test_an_explanation_of_one_sentence_is_the_closest_sentence(embedder):
    [only] = explanation_evidence("When was the railway line to Orlen closed?", [_town()], embedder, 1)
    assert only.text == "The railway line to Orlen was closed in 1971."


def test_code_and_json_are_not_explanations_and_a_sentence_cut_at_an_abbreviation_is_made_whole(embedder):
    text = ('{ "answer": "The railway reached Orlen in 1861 and linked the town to the coast.", "abstained": false }\n\n'
            '], "standalone_question": "When did the railway reach Orlen and link the town to the coast?" }\n\n'
            "Add a constraint on the package that the railway timetable depends on (e.g. "
            "a pinned version of the timetable package).\n\n"
            "The railway reached Orlen in 1861 and linked the town to the coast.")
    chosen = _explained("Which constraint should be added for the railway timetable?", text, embedder)
    assert [s.text for s in chosen] == [
        "Add a constraint on the package that the railway timetable depends on (e.g. a pinned version of the timetable "
        "package).",
        "The railway reached Orlen in 1861 and linked the town to the coast.",
    ]


def test_a_table_row_is_quoted_whole_and_read_as_its_item_and_what_it_says(embedder):
    text = ("# Settings\n\n| name | default | meaning |\n|---|---|---|\n"
            "| `ORLEN_LINE` | `coast` | The railway line that links the town of Orlen to the coast, opened in 1861. |\n")
    chosen = _explained("Which railway line links Orlen to the coast?", text, embedder)
    assert chosen[0].text == ("| `ORLEN_LINE` | `coast` | The railway line that links the town of Orlen to the coast, "
                              "opened in 1861. |")  # the row, which names the setting the sentence is about
    assert as_read(chosen[0].text) == ("`ORLEN_LINE` — `coast` — The railway line that links the town of Orlen to the "
                                       "coast, opened in 1861.")
    assert not any("name" in s.text or "---" in s.text for s in chosen)  # not the header, nor the separator


def test_a_row_whose_cell_holds_two_sentences_is_quoted_whole(embedder):
    text = ("| name | default | meaning |\n|---|---|---|\n"
            "| `HARBOUR_TIDE` | `0.55` | The harbour of Orlen closes when the tide is below this. Calibrated for the "
            "spring tides of 1861. |\n")
    chosen = _explained("When does the harbour of Orlen close?", text, embedder)
    assert [as_read(s.text) for s in chosen] == [
        "`HARBOUR_TIDE` — `0.55` — The harbour of Orlen closes when the tide is below this. Calibrated for the spring "
        "tides of 1861."]  # once, though each sentence of the cell is ranked on its own


def test_a_sentence_that_leads_into_a_command_brings_the_command(embedder):
    text = ("Creating Virtual Environments\n\n"
            "To create a virtual environment, run the venv module as a script with the directory path:\n\n"
            "python3 -m venv tutorial-env\n\n"
            "To deactivate a virtual environment, type:\n\n"
            "deactivate\n\n"
            "This will create the tutorial-env directory if it does not exist.")
    said = [" ".join(s.text.split()) for s in _explained("How do I create a virtual environment?", text, embedder)]
    assert ("To create a virtual environment, run the venv module as a script with the directory path: "
            "python3 -m venv tutorial-env") in said
    assert "To deactivate a virtual environment, type: deactivate" in said  # however short the command


def test_a_command_that_ends_its_passage_is_brought_whole(embedder):
    text = ("The venv module creates lightweight virtual environments.\n\n"
            "To create a virtual environment, run the venv module as a script with the directory path:\n\n"
            "python3 -m venv tutorial-env")  # the passage ends with the command: a line, not a sentence cut short
    said = [" ".join(s.text.split()) for s in _explained("How do I create a virtual environment?", text, embedder)]
    assert ("To create a virtual environment, run the venv module as a script with the directory path: "
            "python3 -m venv tutorial-env") in said


def test_a_sentence_that_leads_into_a_fenced_block_brings_all_of_it(embedder):
    text = ("Creating Virtual Environments\n\n"
            "To create a virtual environment, run the venv module as a script with the directory path:\n\n"
            "```sh\npython3 -m venv tutorial-env\n```\n\n"
            "This will create the tutorial-env directory if it does not exist.")
    said = [" ".join(s.text.split()) for s in _explained("How do I create a virtual environment?", text, embedder)]
    assert ("To create a virtual environment, run the venv module as a script with the directory path: "
            "```sh python3 -m venv tutorial-env ```") in said  # not its opening "```sh" alone


def test_a_sentence_that_leads_into_a_list_brings_all_its_items_read_as_one_line(embedder):
    text = ("What can be stored\n\n"
            "The following kinds of cargo can be stored in the Orlen warehouse:\n\n"
            "- grain, flour and malt;\n\n"
            "- timber cut to length;\n\n"
            "- pottery packed in straw crates\nof the town's own make.\n\n"
            "Cargo is weighed at the gate before it is stored.")
    chosen = _explained("What kinds of cargo can be stored in the warehouse?", text, embedder)
    lead_in = next(s for s in chosen if s.text.startswith("The following kinds"))
    assert lead_in.text.endswith("of the town's own make.")  # every item, and the list's paragraph after it not
    assert as_read(lead_in.text) == ("The following kinds of cargo can be stored in the Orlen warehouse: grain, flour "
                                     "and malt; timber cut to length; pottery packed in straw crates of the town's own "
                                     "make.")


def test_a_sentence_the_page_repeats_is_said_once(embedder):
    text = ("Consult the installation guide for complete documentation of the railway timetable.\n\n"
            "The timetable of the Orlen railway is printed every spring.\n\n"
            "Consult the installation guide for complete documentation of the railway timetable.")
    chosen = _explained("Where is the railway timetable documented?", text, embedder)
    assert len(chosen) == 2
    assert len({s.text for s in chosen}) == 2


def test_a_sentence_its_passage_ends_inside_is_completed_from_its_document(embedder):
    document = ("Though tuples may seem similar to lists, they are often used in different situations.\n"
                "Tuples are immutable, and usually contain a heterogeneous sequence of\n"
                "elements that are accessed via unpacking or indexing.\n"
                "Lists are mutable, and their elements are usually homogeneous.")
    cut = document.index("elements that")  # the chunker cut at the hard-wrapped line
    first = Hit(chunk_id=1, source="tuples.html", text=document[:cut].rstrip(), start=0, end=cut - 1, score=1,
                similarity=0.6)
    chosen = explanation_evidence("What is the difference between a list and a tuple?", [first], embedder, 4,
                                  document_text={"tuples.html": document}.get)
    said = [" ".join(s.text.split()) for s in chosen]
    assert ("Tuples are immutable, and usually contain a heterogeneous sequence of elements that are accessed via "
            "unpacking or indexing.") in said
    assert all(document[s.start:s.end] == s.text for s in chosen)  # verbatim spans of the document
    without = explanation_evidence("What is the difference between a list and a tuple?", [first], embedder, 4)
    assert not any(s.text.startswith("Tuples are immutable") for s in without)  # a piece of a sentence is not one


def test_a_sentence_cut_after_an_initialism_is_made_whole(embedder):
    text = ("Orlen is the largest U.S. town not linked to a railway line. "
            "When the railway was built in 1861, the line was laid along the coast and thus bypassed Orlen.")
    chosen = _explained("Why does a town as big as Orlen have no railway line?", text, embedder)
    assert "Orlen is the largest U.S. town not linked to a railway line." in [s.text for s in chosen]
    assert not any(s.text in ("Orlen is the largest U.S.", "town not linked to a railway line.") for s in chosen)


def test_a_table_cell_cut_inside_its_code_is_not_a_sentence(embedder):
    text = ("The benchmark asks each follow-up question twice. It measures the rewrite of every follow-up question.\n\n"
            "| Command | Meaning |\n| `python -m bench.quality QUESTIONS ARTICLES. --followups N` (`--followups-rewrite-only`: "
            "no generator, only the rewrite of each follow-up) | the follow-up benchmark |\n")
    chosen = _explained("How does the benchmark measure the rewrite of follow-up questions?", text, embedder)
    assert [s.text for s in chosen][:2] == ["It measures the rewrite of every follow-up question.",
                                            "The benchmark asks each follow-up question twice."]
    # the row's cells are not read from inside one: a row is quoted whole, if at all
    assert all(s.text.startswith("| `python") and s.text.endswith("benchmark |") for s in chosen if "|" in s.text)


ORDERED = ("Changed in version 3.8: Returns a regular dict instead of an OrderedDict. "
           "Ordered dictionaries are just like regular dictionaries but have some extra capabilities relating to "
           "ordering operations. "
           "The OrderedDict algorithm can handle frequent reordering operations better than dict. "
           "Changed in version 3.5: The items, keys, and values views of OrderedDict now support reverse iteration.")


def test_release_notes_answer_only_a_question_about_versions(embedder):
    advice = [s.text for s in _explained("When should I use OrderedDict instead of dict?", ORDERED, embedder)]
    assert "The OrderedDict algorithm can handle frequent reordering operations better than dict." in advice
    assert not any(s.startswith("Changed in version") for s in advice)
    history = [s.text for s in _explained("What changed in OrderedDict in version 3.8?", ORDERED, embedder)]
    assert "Changed in version 3.8: Returns a regular dict instead of an OrderedDict." in history


def test_a_numbered_sections_heading_is_no_sentence_of_an_explanation(embedder):
    text = ("4.4. break and continue Statements, and else Clauses on Loops\n\n"
            "The break statement breaks out of the innermost enclosing for or while loop. "
            "Loop statements may have an else clause; it is executed when the loop terminates through exhaustion of "
            "the iterable, but not when the loop is terminated by a break statement.")
    said = [s.text for s in _explained("What does the else clause of a for loop do?", text, embedder)]
    assert not any(s.startswith("4.4.") for s in said)
    assert any(s.startswith("Loop statements may have an else clause") for s in said)


def test_a_paragraph_may_open_with_a_lower_case_name(embedder):
    text = ("Running offline\n\n"
            "ragqa runs offline once it is installed: ingest and the service need no network access. "
            "The models come from installed packages.\n\n"
            "It was said that the keepers would \"never leave the lamp\", and submit cheerfully to the rules of the "
            "board.")
    said = [s.text for s in _explained("Does ragqa work offline?", text, embedder)]
    assert said[0] == "ragqa runs offline once it is installed: ingest and the service need no network access."
    assert not any(s.startswith("submit") for s in said)  # the tail of a sentence cut at a quotation still is none
