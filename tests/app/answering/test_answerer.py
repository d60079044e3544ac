"""The question→answer path with the real embedder, index and small model: evidence, abstention, citations, quote."""
from __future__ import annotations

import asyncio

import pytest

from app.answering.abstention import NOT_IN_DOCUMENTS
from app.answering.answerer import Answerer
from app.answering.followup import HistoryTooLongError
from app.generation.base import Generation
from app.schemas import Turn
from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline
from tests.conftest import write_documents

pytestmark = pytest.mark.slow


@pytest.fixture()
def answerer(docs_folder, tmp_path, embedder, chunker, generator, settings):
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs_folder)
    yield Answerer(Retriever(index, embedder), generator, settings)
    index.close()


def test_the_evidence_is_the_sentences_that_bear_on_the_question(answerer):
    evidence, cited = answerer.evidence("When was the lighthouse converted to electricity?", 3)
    assert "converted to electricity in 1931" in evidence[0].text
    assert len(evidence[0].text) < len(cited[0].text) or len(cited) > 1  # sentences, not whole passages
    assert {hit.source for hit in evidence} <= {hit.source for hit in cited}


CASTLES = {
    "varangians.txt": "The Varangians in Anatolia\n\nA Varangian named Hallvard led a company of Norsemen into the upper "
                      "valley of the Sakarya. They even gave their own people's name to their castle: Varangikastro, "
                      "meaning the fort of the Varangians. Historians debate whether the Varangians in Greek service "
                      "came from Kiev or from Sweden.\n",
    "rhine.txt": "The middle Rhine\n\nThe gorge is a World Heritage Site, known for more than forty castles and "
                 "fortresses from the Middle Ages. Many of its castles were rebuilt as romantic ruins in the nineteenth "
                 "century. The names of the castles are famous.\n",
}


def test_the_evidence_keeps_to_what_the_question_names_not_to_sentences_merely_like_it(tmp_path, embedder, chunker,
                                                                                          generator, settings):
    """"The names of the castles are famous." is closer to "What was the name of the Varangian castle?" than most of
    the Varangians' own sentences, by the embedding alone; the question's rare word (Varangian) keeps the model's
    evidence on the castle asked about."""
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(write_documents(tmp_path / "docs", CASTLES))
    try:
        evidence, _ = Answerer(Retriever(index, embedder), generator, settings).evidence(
            "What was the name of the Varangian castle?", 4)
    finally:
        index.close()
    assert "Varangikastro" in evidence[0].text
    assert [e.source for e in evidence] == ["varangians.txt"] * 4, [e.text for e in evidence]


CLOCKS = {
    "clocks.txt": ('Clocks\n\ntime.time() returns the time in seconds since the epoch as a floating point number. Note '
                  'that even though the time is always returned as a floating point number, not all systems provide '
                  'time with a better precision than 1 second. While this function normally returns non-decreasing '
                  'values, it can return a lower value than a previous call if the system clock has been set back '
                  'between the two calls.\n\nThe perf_counter() function returns the value in fractional seconds of a '
                  'performance counter, the clock with the highest available resolution: call it before and after a '
                  'short task to measure its elapsed time. It is system-wide.\n\ntime.sleep(secs) suspends execution of'
                  ' the calling thread for the given number of seconds.\n'),
    "dates.txt": ('Dates\n\nA timedelta object represents a duration, the difference between two dates or times. Note '
                 'that for very large time intervals this method will lose microsecond accuracy. Return the total '
                 'number of seconds contained in the duration.\n'),
}


def test_an_explanation_gives_the_sentence_that_names_what_was_asked(tmp_path, embedder, chunker, generator, settings):
    """"How do I measure elapsed time?": the sentence saying how to measure elapsed time (perf_counter) is explained,
    not only the notes on precision and accuracy that are as close to the question by the embedding alone."""
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(write_documents(tmp_path / "docs", CLOCKS))
    try:
        response = asyncio.run(Answerer(Retriever(index, embedder), generator, settings).ask(
            "How do I measure elapsed time accurately?", 4))
    finally:
        index.close()
    assert response.shape == "explain" and not response.abstained
    assert "perf_counter()" in response.answer, response.answer


def test_a_question_the_documents_do_not_touch_abstains_without_the_model(answerer):
    response = asyncio.run(answerer.ask("What is the airspeed velocity of an unladen swallow?", 3))
    assert response.abstained and response.answer == NOT_IN_DOCUMENTS
    assert response.citations == [] and "generation" not in response.timings_ms


def test_an_answer_rests_on_its_documents_quoted_verbatim(answerer, docs_folder):
    response = asyncio.run(answerer.ask("When was the lighthouse at Varnholm converted to electricity?", 3))
    assert response.timings_ms["generation"] > 0 and response.model == "smollm2-135m"
    assert "lighthouse.txt" in {c.source for c in response.citations}
    if response.abstained:  # the small model may decline; then it says so plainly, with its sources
        assert response.answer == NOT_IN_DOCUMENTS and response.quote is None
    else:
        text = (docs_folder / response.quote.source).read_text(encoding="utf-8")
        assert text[response.quote.start:response.quote.end] == response.quote.text


def test_over_another_snapshot_keeps_the_model_and_its_queue(answerer):
    other = Retriever(answerer.retriever.index, answerer.retriever.embedder, "keyword")
    moved = answerer.over(other)
    assert moved.retriever is other and answerer.retriever is not other
    assert moved.queue is answerer.queue and moved.generator is answerer.generator


class CountingGenerator:
    """The real small model, counting the prompts it is given."""

    def __init__(self, generator) -> None:
        self.generator, self.name, self.prompts = generator, generator.name, []

    def generate_batch(self, requests):
        self.prompts += [r.messages for r in requests]
        return self.generator.generate_batch(requests)


HISTORY = [Turn(role="user", content="Who built the lighthouse at Varnholm?"), Turn(role="assistant", content="Ada Brook")]


@pytest.fixture()
def counted(answerer):
    counting = CountingGenerator(answerer.generator)
    return Answerer(answerer.retriever, counting, answerer.settings), counting


def test_a_question_that_stands_alone_costs_no_rewrite(counted):
    answerer, counting = counted
    response = asyncio.run(answerer.ask("When does the Riverside chess club meet?", 3, history=HISTORY))
    assert response.standalone_question == "When does the Riverside chess club meet?"
    assert "rewrite" not in response.timings_ms and len(counting.prompts) == 1  # the answer's prompt only


def test_a_follow_up_is_rewritten_from_the_history_before_retrieval_without_a_model_call(counted):
    answerer, counting = counted
    response = asyncio.run(answerer.ask("When was it converted to electricity?", 3, history=HISTORY))
    searched = response.standalone_question
    assert searched != "When was it converted to electricity?" and searched.endswith("converted to electricity?")
    assert any(phrase in searched for phrase in ("lighthouse", "Varnholm")), searched
    assert response.timings_ms["rewrite"] > 0 and len(counting.prompts) == 1  # the answer's prompt only
    assert response.citations[0].source == "lighthouse.txt"


def test_a_pronoun_for_the_previous_answer_is_searched_as_that_answer(counted):
    answerer, counting = counted
    response = asyncio.run(answerer.ask("When was she born?", 3, history=HISTORY))
    assert response.standalone_question == "When was Ada Brook born?"


def test_with_the_model_rewrite_the_model_names_the_referent(counted):
    answerer, counting = counted
    by_model = Answerer(answerer.retriever, counting, answerer.settings.model_copy(update={"followup_rewrite": "model"}))
    response = asyncio.run(by_model.ask("When was it converted to electricity?", 3, history=HISTORY))
    searched = response.standalone_question
    assert searched != "When was it converted to electricity?" and searched.endswith("converted to electricity?")
    assert any(phrase in searched for phrase in ("lighthouse", "Varnholm", "Ada Brook")), searched
    assert response.timings_ms["rewrite"] > 0 and len(counting.prompts) == 2
    # The rewrite asks about the conversation in the answer prompt's own format: its cached prefix serves both.
    assert counting.prompts[0][:-1] == counting.prompts[1][:-1]


def test_a_history_over_the_limits_is_refused_before_any_work(counted):
    answerer, counting = counted
    few = answerer.settings.model_copy(update={"history_max_turns": 1})
    with pytest.raises(HistoryTooLongError, match="at most 1 messages"):
        asyncio.run(Answerer(answerer.retriever, counting, few).ask("How tall is it?", 3, history=HISTORY))
    assert counting.prompts == []


def test_an_explanation_is_the_documents_own_sentences_each_with_verbatim_support(answerer, docs_folder):
    pieces = []
    response = asyncio.run(answerer.ask("Describe the lighthouse at Varnholm.", 3, pieces.append, style="explain"))
    assert not response.abstained and response.shape == "explain"
    assert 2 <= len(response.sentences) <= 4 and "generation" not in response.timings_ms
    for sentence in response.sentences:
        [span] = sentence.support
        assert (docs_folder / span.source).read_text(encoding="utf-8")[span.start:span.end] == span.text == sentence.text
        assert response.citations[sentence.citations[0] - 1].source == span.source
    assert {s.support[0].source for s in response.sentences} == {"lighthouse.txt"}  # nothing off the subject
    assert "".join(pieces) == response.answer  # streamed a sentence at a time
    assert response.answer.startswith("The lighthouse at Varnholm was built in 1872") and "[1]" in response.answer


def test_an_explanation_abstains_when_the_documents_do_not_touch_the_question(answerer):
    response = asyncio.run(answerer.ask("Why do comets have tails?", 3, style="explain"))
    assert response.abstained and response.answer == NOT_IN_DOCUMENTS and response.sentences == []


HARBOUR = {"harbour.txt": "Varnholm's harbour exports timber, dried fish and wool. The old quarry above the town ships "
                          "granite to Bergen every spring. The quarry also ships roofing slate to the southern towns."}


class ReplyingGenerator:
    """Stands in for the model with a fixed reply: what happens to that reply is under test, not the model."""

    name = "fixed-reply"

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def generate_batch(self, requests):
        for request in requests:
            if request.on_text:
                request.on_text(self.reply)
        return [Generation(self.reply, 10, 3) for _ in requests]


@pytest.fixture()
def harbour(tmp_path, embedder, chunker, settings):
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(write_documents(tmp_path / "docs", HARBOUR))
    yield lambda reply: Answerer(Retriever(index, embedder), ReplyingGenerator(reply), settings)
    index.close()


def test_a_question_for_several_things_whose_short_answer_names_one_gets_the_sentences(harbour):
    pieces = []
    response = asyncio.run(harbour("granite").ask("What stones does the old quarry ship?", 3, pieces.append))
    assert not response.abstained and response.shape == "explain"
    assert "granite to Bergen" in response.answer and "roofing slate" in response.answer
    assert "".join(pieces) == response.answer  # the model's one-item reply was never streamed
    # asked for one thing, the same reply is the answer
    assert asyncio.run(harbour("granite").ask("What stone does the quarry ship to Bergen?", 3)).answer == "granite"


def test_a_question_for_several_things_answered_with_a_list_stays_short(harbour):
    pieces = []
    response = asyncio.run(harbour("timber, dried fish and wool").ask("What goods does the harbour export?", 3,
                                                                     pieces.append))
    assert response.shape == "short" and response.answer == "timber, dried fish and wool"
    assert pieces == [response.answer]


def test_a_short_answer_that_only_gives_the_questions_words_back_gets_the_sentences(harbour):
    response = asyncio.run(harbour("the old quarry").ask("Where does the old quarry ship granite?", 3))
    assert not response.abstained and response.shape == "explain"
    assert "granite to Bergen every spring" in response.answer
    # a question that names the things its answer is one of: its own words may be the answer
    response = asyncio.run(harbour("granite").ask("Which stone goes to Bergen, granite or marble?", 3))
    assert response.shape == "short" and response.answer == "granite"


@pytest.fixture()
def levels(tmp_path, embedder, chunker, settings):
    from tests.app.answering.test_tables import LEVELS_HTML

    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(write_documents(tmp_path / "docs", {"logging.html": LEVELS_HTML}))
    yield lambda reply: Answerer(Retriever(index, embedder), ReplyingGenerator(reply), settings)
    index.close()


def _answered_by_the_rows(response, answerer) -> None:
    from tests.app.answering.test_tables import LEVELS

    document = answerer.retriever.index.store.document_text("logging.html")
    assert not response.abstained and response.shape == "explain"
    assert all(f"{level} — " in response.answer for level in LEVELS)
    assert any(document[s.start:s.end] == s.text and "| CRITICAL |" in s.text
               for sentence in response.sentences for s in sentence.support)  # the rows, quoted verbatim


def test_a_list_held_in_a_table_is_answered_by_its_rows_when_the_models_list_is_not_a_span(levels):
    answerer = levels("WARNING, DEBUG, INFO, ERROR")  # the 1.5B model's reply: not as the document lists them
    _answered_by_the_rows(asyncio.run(answerer.ask("Which logging levels are there?", 3)), answerer)


def test_a_short_answer_from_the_sentence_that_leads_into_a_table_gives_way_to_the_table(levels):
    answerer = levels("The standard levels and their applicability")  # a list, of the sentence before the table
    _answered_by_the_rows(asyncio.run(answerer.ask("Which logging levels are there?", 3)), answerer)


def test_a_follow_up_after_a_long_answer_still_reads_the_question_it_follows(answerer):
    # The answer alone overflows RAGQA_HISTORY_PROMPT_CHARS: the question before it is still what "its" points to.
    history = [Turn(role="user", content="What does RAGQA_MAX_NEW_TOKENS set?"),
               Turn(role="assistant", content="It bounds the length of an answer. " * 40)]
    question, _ = asyncio.run(answerer.standalone_question("What is its default?", history))
    assert question == "What is RAGQA_MAX_NEW_TOKENS's default?"
    question, _ = asyncio.run(answerer.standalone_question("And RAGQA_MAX_CONTEXT_CHARS?", history))
    assert question == "What does RAGQA_MAX_CONTEXT_CHARS set?"
    history = [Turn(role="user", content="What is the difference between json.dump and json.dumps?"),
               Turn(role="assistant", content="json.dump writes to a file; json.dumps returns a string.")]
    question, _ = asyncio.run(answerer.standalone_question("Which one writes to a file?", history))
    assert question == "Which of json.dump and json.dumps writes to a file?"  # long enough to stand alone, yet not
