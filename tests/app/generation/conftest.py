"""Shared by the generation tests: small facts to answer, their prompts, and a float32 copy of the small model."""
from __future__ import annotations

import pytest

from app.answering.prompt import build_messages
from index.types import Hit

FACTS = [
    ("How tall is the Varnholm lighthouse?", "The Varnholm lighthouse stands 41 metres tall on the northern cliff."),
    ("Who founded the chess club?", "The Riverside chess club meets every Thursday evening in the old library. "
                                    "Its founder, Marta Kowalski, won the regional championship in 1998."),
    ("When is the bread baked?", "The dough rests for twelve hours before it is baked at 240 degrees Celsius."),
]


def messages_for(question: str, passage: str) -> list[dict[str, str]]:
    return build_messages(question, [Hit(chunk_id=1, source="a.txt", text=passage, start=0, end=len(passage),
                                         score=1.0, similarity=0.6)])


@pytest.fixture(scope="session")
def float_generator(settings):
    from app.generation.local import TransformersGenerator
    from app.generation.model_files import model_directory

    return TransformersGenerator(model_directory("smollm2-135m", settings.cache_dir), "smollm2-135m")
