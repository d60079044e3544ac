"""The cached prompt prefix (system prompt and worked examples) is reused without changing any answer."""
from __future__ import annotations

import pytest

from app.generation.base import GenerationRequest
from tests.app.generation.conftest import FACTS, messages_for

pytestmark = pytest.mark.slow


def test_reusing_the_shared_prompt_prefix_changes_no_answer(float_generator, settings):
    from app.generation.local import TransformersGenerator
    from app.generation.model_files import model_directory

    generator = float_generator
    without = TransformersGenerator(model_directory("smollm2-135m", settings.cache_dir), "smollm2-135m", reuse_prefix=False)
    requests = [GenerationRequest(messages_for(q, p), 12) for q, p in FACTS]
    with_prefix = [generator.generate(r.messages, r.max_new_tokens).text for r in requests]
    assert generator._prefix.ids, "the system prompt and worked examples are cached"
    assert len(generator._prefix.ids) > 100
    assert with_prefix == [without.generate(r.messages, r.max_new_tokens).text for r in requests]
    assert [g.text for g in generator.generate_batch(requests)] == with_prefix


def _model_copy(settings, folder):
    """The test model's files linked into `folder`, so a prefix saved beside them stays in this test."""
    from app.generation.model_files import model_directory
    from app.generation.prefix_cache import PREFIX_FILE

    folder.mkdir()
    for file in model_directory("smollm2-135m", settings.cache_dir).iterdir():
        if file.name != PREFIX_FILE:
            (folder / file.name).symlink_to(file)
    return folder


def test_a_saved_prefix_is_loaded_at_start_and_changes_no_answer(float_generator, settings, tmp_path):
    from app.generation.local import TransformersGenerator

    weights = _model_copy(settings, tmp_path / "model")
    first = TransformersGenerator(weights, "smollm2-135m")
    assert first.save_prefix([messages_for(q, p) for q, p in FACTS[:2]])
    restarted = TransformersGenerator(weights, "smollm2-135m")
    assert restarted._prefix.ids == first._prefix.ids, "a start loads the saved prefix before any question"
    assert len(restarted._prefix.ids) > 100
    requests = [GenerationRequest(messages_for(q, p), 12) for q, p in FACTS]
    assert ([restarted.generate(r.messages, r.max_new_tokens).text for r in requests]
            == [float_generator.generate(r.messages, r.max_new_tokens).text for r in requests])


def test_an_unreadable_saved_prefix_is_ignored(float_generator, settings, tmp_path):
    from app.generation.local import TransformersGenerator

    weights = _model_copy(settings, tmp_path / "model")
    (weights / "prompt-prefix.pt").write_bytes(b"not a tensor file")
    generator = TransformersGenerator(weights, "smollm2-135m")
    assert generator._prefix.ids == []
    question, passage = FACTS[0]
    assert (generator.generate(messages_for(question, passage), 12).text
            == float_generator.generate(messages_for(question, passage), 12).text)
