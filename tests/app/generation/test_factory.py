"""One factory decides local or remote generation for every caller (service, CLI, benchmarks)."""
from __future__ import annotations

import pytest

from app.generation.factory import generator_from_settings
from app.generation.remote import GeneratorUnavailableError, RemoteGenerator
from bench.server_process import free_port


def test_a_generator_url_gives_a_client_of_that_server_and_no_local_model(settings):
    url = f"http://127.0.0.1:{free_port()}/v1"
    generator = generator_from_settings(settings.model_copy(update={"generator_url": url, "generator_model": "engine-model"}))
    assert isinstance(generator, RemoteGenerator) and generator.name == "engine-model"
    with pytest.raises(GeneratorUnavailableError, match=url):  # it really asks that server
        generator.generate([{"role": "user", "content": "hi"}], 4)


def test_without_a_url_the_configured_local_model_answers(generator):
    assert generator.name == "smollm2-135m" and not isinstance(generator, RemoteGenerator)
    assert generator.generate([{"role": "user", "content": "Say hello."}], 4).new_tokens > 0
