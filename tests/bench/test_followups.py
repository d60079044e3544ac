"""The follow-up benchmark's conversations: built from a SQuAD-format set, reproducibly, referring back for real."""
from __future__ import annotations

import asyncio
import re

import pytest
from tqdm import tqdm

from app.answering.answerer import Answerer
from bench.followups import Conversation, build, evaluate, markdown
from bench.squad import Question
from index.directory import IndexDirectory
from index.retrieval import Retriever
from ingest.pipeline import IngestPipeline

ARTICLES = {
    "Varnholm_lighthouse": "The Varnholm lighthouse was built in 1872 by Ada Brook. She was an engineer, and she "
                           "also designed two bridges. It stands 41 metres tall.",
    "Riverside_chess_club": "The Riverside chess club meets on Thursdays. Marta Kowalski founded it in 1990.",
}
QUESTIONS = [
    Question("1", "Who built the Varnholm lighthouse?", ("Ada Brook",), "Varnholm_lighthouse", ""),
    Question("2", "How tall is the Varnholm lighthouse?", ("41 metres",), "Varnholm_lighthouse", ""),
    Question("3", "When was the Varnholm lighthouse built?", ("1872",), "Varnholm_lighthouse", ""),
    Question("4", "What did Ada Brook design besides the lighthouse?", ("two bridges",), "Varnholm_lighthouse", ""),
    Question("5", "What was Ada Brook's profession?", ("engineer",), "Varnholm_lighthouse", ""),
    Question("6", "When does the Riverside chess club meet?", ("on Thursdays",), "Riverside_chess_club", ""),
    Question("7", "Who founded the Riverside chess club?", ("Marta Kowalski",), "Riverside_chess_club", ""),
    Question("8", "When did Marta Kowalski found the club?", ("1990",), "Riverside_chess_club", ""),
]


@pytest.fixture()
def answerer(docs_folder, tmp_path, embedder, chunker, generator, settings):
    index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
    IngestPipeline(index, embedder, chunker).run(docs_folder)
    yield Answerer(Retriever(index, embedder), generator, settings)
    index.close()


def test_follow_ups_leave_out_the_subject_the_first_question_named():
    conversations = build(QUESTIONS, ARTICLES, pairs=10, unrelated=0, seed=0)
    assert conversations and all(c.kind in ("pronoun", "ellipsis") for c in conversations)
    for c in conversations:
        named = re.compile(re.escape(c.subject), re.IGNORECASE)
        assert named.search(c.first.question) and named.search(c.standalone.question)
        assert not named.search(c.followup), c  # the follow-up only refers back to it
        assert c.first.title == c.standalone.title and c.first.id != c.standalone.id
    by_id = {c.standalone.id: c.followup for c in conversations}
    assert by_id.get("5") == "What was her profession?"  # the article calls Ada Brook "she"
    pronoun = re.compile(r"\b(he|she|it|they|him|her|them|his|its|their)\b", re.IGNORECASE)
    assert all(pronoun.search(c.followup) for c in conversations if c.kind == "pronoun")
    assert all(len(c.followup) < len(c.standalone.question) for c in conversations if c.kind == "ellipsis")


def test_unrelated_pairs_come_from_two_articles_and_keep_the_question_as_asked():
    conversations = build(QUESTIONS, ARTICLES, pairs=0, unrelated=6, seed=0)
    assert len(conversations) == 6
    for c in conversations:
        assert c.kind == "unrelated" and c.first.title != c.standalone.title and c.followup == c.standalone.question


def test_the_same_seed_builds_the_same_conversations_and_another_seed_others():
    same = build(QUESTIONS, ARTICLES, pairs=4, unrelated=4, seed=3)
    assert same == build(QUESTIONS, ARTICLES, pairs=4, unrelated=4, seed=3)
    assert any(build(QUESTIONS, ARTICLES, pairs=4, unrelated=4, seed=s) != same for s in range(4, 8))


@pytest.mark.slow
def test_the_follow_up_table_scores_conversations_beside_the_standalone_questions(answerer):
    lighthouse = Question("9", "When was the lighthouse at Varnholm converted to electricity?", ("1931",), "L", "")
    conversations = [
        Conversation(Question("1", "Who built the lighthouse at Varnholm?", ("Ada Brook",), "L", ""),
                     "When was it converted to electricity?", lighthouse, "pronoun", "the lighthouse at Varnholm"),
        Conversation(Question("6", "When does the Riverside chess club meet?", ("on Thursdays",), "C", ""),
                     lighthouse.question, lighthouse, "unrelated", None),
    ]
    with asyncio.Runner() as runner:
        report = evaluate(runner, answerer, conversations, 3, 5, tqdm(disable=True))
    assert report["followups"] == 1 and report["unrelated"] == 1
    assert report["standalone_recall@5"] == 1.0 and report["conversation_recall@5"] == 1.0
    assert report["followups_rewritten"] == 1.0 and report["rewrite_ms_p50"] > 0
    assert report["unrelated_rewritten"] == 0.0 and report["unrelated_unchanged_retrieval"] == 1.0
    table = markdown(report, 5)
    assert "| follow-up, with history | " in table and "| unrelated: top-5 retrieval unchanged | 1.0 |" in table
