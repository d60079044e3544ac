"""Which questions get an explanation under `style: auto`, and that an explicit style always wins."""
from __future__ import annotations

import pytest

from app.answering.shape import asks_for_several, question_shape


@pytest.mark.parametrize("question", [
    "Why did transformers outperform RNNs in NLP?",
    "What is mode collapse?",
    "What is the difference between discriminative and generative models?",
    "What are the two networks in a GAN and what does each one do?",
    "What are the three stages of training and deploying a diffusion model?",
    "Describe how the lamp of the lighthouse was changed.",
    "How do the two chess clubs differ?",
    "What is oxygen used for?",
    "What do people mean by 'cultural imperialism'?",
    "What is consultant pharmacy, and where do such pharmacists usually work?",
    "What was the old wall across the town actually built for?",
    "What made the villagers abandon the mill?",
    "For what purpose was the canal dug?",
    "How did the town come to cover such an enormous area?",
    "How does the installer resolve conflicting requirements?",
    "How was power split between the two councils?",
    "If a problem asks for a number, how can it still be answered with yes or no, and how did that idea arise?",
    "How do I delete a document?",
    "How can I create a virtual environment?",
    "How to rebuild the index?",
    "When should I use OrderedDict instead of dict?",
    "Is functools.lru_cache thread-safe?",  # yes or no: the sentences that decide it
    "Does the new deal include video on demand?",
    "What was VARN, the radio service the town started in 1982?",
    "What was the council's position on who should pay for the lamp?",
    "How is the upkeep divided between the town and the harbour board?",
    "What does functools.lru_cache do?",
    "What does enumerate return?",
    "What does RAGQA_MAX_NEW_TOKENS set?",  # a setting: what it controls, not one of the words around it
    "What happens when the lamp fails during a storm?",
    "What happens if the keeper falls ill?",
])
def test_questions_that_ask_for_an_account_get_an_explanation(question):
    assert question_shape(question) == "explain"


@pytest.mark.parametrize("question", [
    "Who built the lighthouse at Varnholm?",
    "When was the lamp converted to electricity?",
    "How many metres tall is the lighthouse?",
    "What is the name of the chess club's founder?",
    "What is the capital of France?",
    "Which network did Goldenson propose a merger with, and in what year?",
    "How can you protest against big companies in a non violent way?",
    "In what year did the war end?",
    "How many mills did the town have in 1900?",
    "How long did the war last?",
    "How old was the engineer when the lighthouse was finished?",
    "What company built the mill?",
    "What is the newer, more widely accepted theory of the lamp's failure?",
    "What does the keeper do with the old lamps?",
    "What did the keeper do in 1912?",
    "Were the tapes restored in colour or did they remain black and white?",  # a choice: one of the two
])
def test_questions_that_ask_for_a_name_or_number_stay_short(question):
    assert question_shape(question) == "short"


def test_an_explicit_style_is_what_the_client_gets():
    assert question_shape("Who built the lighthouse?", "explain") == "explain"
    assert question_shape("Why is the sky blue?", "short") == "short"


@pytest.mark.parametrize("question, several", [
    ("Who are some of the villains the Doctor keeps coming up against?", True),
    ("Which ethnic communities make up Fresno's West Side?", True),
    ("What lasting effects did Luther's translation have?", True),
    ("What other diseases have researchers suggested?", True),
    ("What were the main findings of the report?", True),
    ("What was the final score?", False),
    ("What actress did the translation for the game?", False),
    ("What status does the service report?", False),
    ("What are environmentalists concerned about losing in the forest?", False),
    ("What does increased oxygen in the lungs displace?", False),
    ("What types of schools are most of them?", False),
    ("Which file types can I ingest?", True),  # a type named by its kind ("file types"), not "types of …"
    ("What kinds of errors are there in Python?", True),
    ("What are the logging levels?", True),  # all it asks: "what are the <things>?"
    ("What are the available integer presentation types?", True),
    ("What other location did the crew test at?", False),
])
def test_a_question_for_several_things_is_told_by_its_wording(question, several):
    assert asks_for_several(question) is several
