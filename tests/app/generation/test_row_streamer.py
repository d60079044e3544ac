"""Each row of a batch streams its own text, in pieces, and stops at its own token budget."""
from __future__ import annotations

import pytest

from app.generation.base import GenerationRequest
from tests.app.generation.conftest import FACTS, messages_for

pytestmark = pytest.mark.slow


def test_each_row_streams_its_own_text_and_stops_at_its_own_budget(generator):
    pieces: list[list[str]] = [[], [], []]
    budgets = [3, 16, 16]
    requests = [GenerationRequest(messages_for(q, p), budget, pieces[row].append)
                for row, ((q, p), budget) in enumerate(zip(FACTS, budgets))]
    generations = generator.generate_batch(requests)
    assert generations[0].new_tokens == 3 and generations[1].new_tokens > 3
    for row, generation in enumerate(generations):
        assert len(pieces[row]) > 1, "text arrives in pieces"
        assert "".join(pieces[row]).strip() == generation.text
    assert "41" in generations[0].text + generations[1].text + generations[2].text or "Kowalski" in generations[1].text
