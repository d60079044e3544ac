"""`ragqa chat` as a user runs it: a real subprocess reading questions from its input, real models, a real index."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.cli.test_main import indexed  # noqa: F401 (the fixture: the test documents ingested by `ragqa ingest`)
from tests.conftest import ragqa_command

pytestmark = pytest.mark.slow


def chat(*args: str, questions: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*ragqa_command(), "chat", *args], input=questions, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "RAGQA_MODEL": "smollm2-135m", **(env or {})})


def test_a_follow_up_is_answered_in_the_context_of_the_thread_until_a_new_conversation(indexed):  # noqa: F811
    _, index = indexed
    questions = ("Who built the lighthouse at Varnholm?\n"
                 "When was it converted to electricity?\n"
                 "/new\n"
                 "When was it converted to electricity?\n")
    result = chat("--index", str(index), questions=questions)
    assert result.returncode == 0, result.stderr
    turns = result.stdout.split("> ")[1:]
    assert [t.splitlines()[0] for t in turns] == [
        "Who built the lighthouse at Varnholm?", "When was it converted to electricity?",
        "When was it converted to electricity?"]
    first, follow_up, after_new = turns
    assert "lighthouse.txt" in first and "(searched as:" not in first
    searched = follow_up.splitlines()[1]
    assert searched.startswith("(searched as: ") and searched.endswith("converted to electricity?)")
    assert "lighthouse.txt" in follow_up
    assert "(new conversation)" in after_new or "(new conversation)" in follow_up
    assert "(searched as:" not in after_new  # nothing to refer back to any more


def test_chat_without_an_index_says_how_to_build_one(tmp_path):
    result = chat("--index", str(tmp_path / "none"), questions="How tall is it?\n")
    assert result.returncode == 2 and "no index at" in result.stderr and "Traceback" not in result.stderr
