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
