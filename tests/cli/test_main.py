"""The `ragqa` command as a user runs it: a real subprocess, real models, a real index; exit codes that mean something."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ragqa_command, write_documents


def ragqa(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*ragqa_command(), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "RAGQA_MODEL": "smollm2-135m", **(env or {})})


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Path, Path]:
    """The test documents ingested by `ragqa ingest --json`."""
    work = tmp_path_factory.mktemp("cli")
    docs, index = write_documents(work / "docs"), work / "index"
    result = ragqa("ingest", str(docs), "--index", str(index), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(report["added"]) == ["baking/bread.md", "club.html", "lighthouse.txt"]
    return docs, index


def test_help_names_every_command_and_what_the_exit_codes_mean():
    result = ragqa("--help")
    assert result.returncode == 0
    for command in ("ragqa ingest", "ragqa serve", "ragqa ask", "ragqa chat", "ragqa eval"):
        assert command in result.stdout
    assert "3 when the documents" in result.stdout
    assert ragqa().returncode == 2  # no command: the help on stderr, a usage error
    unknown = ragqa("frobnicate")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
    for command in ("ingest", "serve", "ask", "chat", "eval"):
        sub = ragqa(command, "--help")
        assert sub.returncode == 0 and sub.stdout.startswith(f"usage: ragqa {command}")


@pytest.mark.parametrize("command", [["serve"], ["ask", "anything?"], ["eval", "q.json", "articles"]])
def test_an_invalid_setting_is_one_line_and_exit_2(command):
    result = ragqa(*command, env={"RAGQA_CHUNK_TOKENS": "many"})
    assert result.returncode == 2 and result.stderr.startswith("error: invalid settings: chunk_tokens")
    assert "Traceback" not in result.stderr


def test_ingest_of_a_missing_folder_is_a_usage_error(tmp_path):
    result = ragqa("ingest", str(tmp_path / "nowhere"), "--index", str(tmp_path / "index"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_ask_without_an_index_says_how_to_build_one(tmp_path):
    result = ragqa("ask", "How tall is the lighthouse?", "--index", str(tmp_path / "none"))
    assert result.returncode == 2 and "no index at" in result.stderr and "ingest" in result.stderr
    assert "Traceback" not in result.stderr


def test_ask_with_a_blank_question_is_a_usage_error(indexed):
    _, index = indexed
    result = ragqa("ask", "   ", "--index", str(index))
    assert result.returncode == 2 and "question" in result.stderr


def test_ask_of_an_unreachable_server_exits_1():
    result = ragqa("ask", "anything?", "--url", "http://127.0.0.1:9", "--timeout", "5")
    assert result.returncode == 1 and "cannot reach the server" in result.stderr


@pytest.mark.slow
def test_ask_locally_prints_the_answer_its_quote_and_the_sources(indexed):
    docs, index = indexed
    result = ragqa("ask", "How tall is the lighthouse at Varnholm?", "--index", str(index))
    assert result.returncode == 0, result.stderr
    answer, _, rest = result.stdout.partition("\n\nQuote (lighthouse.txt, characters ")
    assert answer.strip() and rest, result.stdout
    quote, _, sources = rest.partition("\n\nSources:\n")
    quoted = " ".join(quote.split("\n", 1)[1].split())  # the quote's lines, indented and wrapped
    assert quoted and quoted in " ".join((docs / "lighthouse.txt").read_text().split())
    assert sources.startswith("  [1] lighthouse.txt (characters 0-") and "similarity" in sources


def test_ask_for_an_explanation_prints_each_sentence_with_where_it_stands(indexed):
    docs, index = indexed
    result = ragqa("ask", "Describe the lighthouse at Varnholm.", "--style", "explain", "--index", str(index))
    assert result.returncode == 0, result.stderr
    body, _, sources = result.stdout.partition("\n\nSources:\n")
    document = (docs / "lighthouse.txt").read_text()
    lines = body.splitlines()
    assert lines[0].startswith("The lighthouse at Varnholm was built in 1872") and lines[0].endswith("[1]")
    for line in lines[1::2]:  # under each sentence: where its support stands in its document
        source, _, where = line.strip().removeprefix("— ").partition(", characters ")
        start, end = map(int, where.split("-"))
        assert source == "lighthouse.txt" and document[start:end] in " ".join(lines)
    assert sources.startswith("  [1] lighthouse.txt")


@pytest.mark.slow
def test_ask_json_of_an_unanswerable_question_abstains_with_exit_3(indexed):
    _, index = indexed
    result = ragqa("ask", "What is the orbital period of Neptune's moon Triton?", "--index", str(index), "--json")
    assert result.returncode == 3, result.stderr
    body = json.loads(result.stdout)
    assert body["abstained"] is True and body["quote"] is None and "do not contain" in body["answer"]


@pytest.mark.slow
def test_eval_runs_the_quality_harness(tmp_path):
    articles = write_documents(tmp_path / "articles", {
        "Lighthouse.txt": "The lighthouse at Varnholm was built in 1872. It stands 41 metres tall on the northern cliff.",
        "Chess_club.txt": "The Riverside chess club meets every Thursday evening in the old library.",
    })
    squad = {"data": [
        {"title": "Lighthouse", "paragraphs": [{"context": "", "qas": [
            {"id": "q1", "question": "How tall is the lighthouse at Varnholm?", "answers": [{"text": "41 metres"}]}]}]},
        {"title": "Chess_club", "paragraphs": [{"context": "", "qas": [
            {"id": "q2", "question": "When does the Riverside chess club meet?", "answers": [{"text": "every Thursday"}]}]}]},
    ]}
    (tmp_path / "questions.json").write_text(json.dumps(squad))
    result = ragqa("eval", str(tmp_path / "questions.json"), str(articles), "--json", str(tmp_path / "report.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["questions"] == 2 and report["settings"]["model"] == "smollm2-135m"
    assert report["metrics"]["answer_recall@1"] == 1.0
    assert "|" in result.stdout  # the markdown table


def test_ask_generates_through_the_configured_generator_server(indexed):
    """RAGQA_GENERATOR_URL means the same for `ragqa ask` as for the service: no local model, that server."""
    from bench.server_process import free_port

    _, index = indexed
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    result = ragqa("ask", "--index", str(index), "Who built the lighthouse at Varnholm?",
                   env={"RAGQA_GENERATOR_URL": url, "RAGQA_GENERATOR_MODEL": "any"})
    assert result.returncode == 1 and url in result.stderr and "Traceback" not in result.stderr
