"""The generator: model resolution by configuration, prompt building, and a real greedy answer."""
from __future__ import annotations

import pytest

from app.answering.prompt import EXAMPLES, SYSTEM_PROMPT, build_messages, passages_within
from app.generation.base import GenerationRequest
from app.generation.factory import load_local_generator
from app.generation.model_files import (
    PROFILES,
    ModelNotFoundError,
    Profile,
    assemble_profile,
    model_directory,
    package_file,
    resolve_model,
)
from core.settings import Settings
from index.types import Hit
from tests.app.generation.conftest import FACTS, messages_for


def _hit(i: int, text: str, source: str = "a.txt", similarity: float = 0.6) -> Hit:
    return Hit(chunk_id=i, source=source, text=text, start=0, end=len(text), score=1.0, similarity=similarity)


def test_prompt_has_worked_examples_then_the_passages_best_last():
    messages = build_messages("Q?", [_hit(1, "best passage"), _hit(2, "second passage")])
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * len(EXAMPLES) + ["user"]
    assert messages[0]["content"] == SYSTEM_PROMPT
    assert messages[-1]["content"] == "Passages:\n\n[1] second passage\n\n[2] best passage\n\nQuestion: Q?"


def test_passages_past_the_context_budget_are_left_out_but_never_all():
    assert [h.chunk_id for h in passages_within([_hit(1, "a" * 150), _hit(2, "b" * 150)], 200)] == [1]
    assert [h.chunk_id for h in passages_within([_hit(1, "a" * 500)], 200)] == [1]


def test_generator_answers_from_the_passage(generator):
    hits = [_hit(1, "The Varnholm lighthouse stands 41 metres tall on the northern cliff.")]
    result = generator.generate(build_messages("How tall is the Varnholm lighthouse?", hits), 40)
    assert "41" in result.text
    assert 0 < result.new_tokens <= 40 and result.prompt_tokens > 20


def test_greedy_decoding_is_deterministic(generator):
    messages = build_messages("What is stored?", [_hit(1, "The barn stores hay and two tractors.")])
    assert generator.generate(messages, 24).text == generator.generate(messages, 24).text


def test_a_plain_hugging_face_directory_works_as_the_model(settings):
    directory = model_directory("smollm2-135m", settings.cache_dir)  # an ordinary transformers model directory (float32)
    assert resolve_model(str(directory), settings.cache_dir) == directory
    generator = load_local_generator(str(directory), settings.cache_dir)
    assert generator.generate([{"role": "user", "content": "Say hello."}], 5).new_tokens > 0


def test_unknown_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="not a profile"):
        resolve_model(str(tmp_path / "missing-model"), tmp_path)


def test_settings_reject_overlap_not_smaller_than_chunk(monkeypatch):
    monkeypatch.setenv("RAGQA_CHUNK_TOKENS", "64")
    monkeypatch.setenv("RAGQA_CHUNK_OVERLAP_TOKENS", "64")
    with pytest.raises(ValueError, match="RAGQA_CHUNK_OVERLAP_TOKENS"):
        Settings()



def test_a_profile_in_parts_is_assembled_once_and_its_checksum_verified(tmp_path):
    import hashlib

    parts = PROFILES["smollm2-135m"].parts * 2  # two real package files, concatenated in order
    single = package_file(*parts[0]).read_bytes()
    expected = hashlib.sha256(single + single).hexdigest()
    assembled = assemble_profile(Profile(parts, "twice.gguf", sha256=expected), tmp_path)
    assert assembled.read_bytes() == single + single
    with pytest.raises(ModelNotFoundError, match="SHA-256"):
        assemble_profile(Profile(parts, "corrupt.gguf", sha256="0" * 64), tmp_path)
    assert not (tmp_path / "gguf" / "corrupt.gguf").exists(), "a file that fails its checksum is not kept"


@pytest.mark.slow
def test_a_left_padded_batch_answers_exactly_as_one_by_one(float_generator):
    generator = float_generator
    requests = [GenerationRequest(messages_for(q, p), 16) for q, p in FACTS]  # prompts of different lengths
    alone = [generator.generate(r.messages, r.max_new_tokens) for r in requests]
    together = generator.generate_batch(requests)
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.new_tokens for g in together] == [g.new_tokens for g in alone]
    assert len({g.prompt_tokens for g in together}) > 1, "the prompts should need padding"


def test_with_int8_weights_each_row_of_a_padded_batch_answers_its_own_question(generator):
    assert generator.precision == "int8"
    requests = [GenerationRequest(messages_for(q, p), 16) for q, p in FACTS]
    texts = [g.text for g in generator.generate_batch(requests)]
    # Each row draws on its own passage and on no other row's (the small model's wording, and which of its
    # passage's facts it picks, moves with the CPU's int8 product: "240 degrees" or "twelve hours").
    own = [("41", "lighthouse"), ("Kowalski", "chess"), ("240", "twelve", "dough", "baked")]
    for row, text in enumerate(texts):
        assert any(word in text for word in own[row]), (row, text)
        assert not any(word in text for other in own[:row] + own[row + 1:] for word in other), (row, text)
