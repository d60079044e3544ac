"""Servers shared by the end-to-end modules: one small-model service over the test documents."""
from __future__ import annotations

import os

import pytest

from tests.conftest import write_documents
from tests.e2e.server_process import run_ingest, running_server


@pytest.fixture(scope="session")
def engine_server(tmp_path_factory):
    """The service (small model) with a small queue: two questions generated at once, two more may wait."""
    work = tmp_path_factory.mktemp("engine")
    run_ingest(write_documents(work / "docs"), work / "index", dict(os.environ))
    env = {"RAGQA_INDEX_DIR": str(work / "index"), "RAGQA_MODEL": "smollm2-135m", "RAGQA_MAX_NEW_TOKENS": "24",
           "RAGQA_BATCH_MAX_SIZE": "2", "RAGQA_QUEUE_SIZE": "2"}
    with running_server(env, work / "server.log") as (client, process):
        yield client, process


@pytest.fixture(scope="session")
def engine(engine_server):
    return engine_server[0]
