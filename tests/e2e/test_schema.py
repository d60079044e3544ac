"""Schemathesis against the running service's own /openapi.json: no 500, every response matches the schema."""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.main import create_app
from bench.server_process import running_server
from tests.conftest import run_ingest, write_documents

pytestmark = pytest.mark.slow

EXAMPLES = 25  # per operation: /ask runs the real (small) model, so this is what a minute affords
cases_run: dict[str, int] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("schema")
    docs, index_dir = write_documents(work / "docs"), work / "index"
    env = {"RAGQA_INDEX_DIR": str(index_dir), "RAGQA_MODEL": "smollm2-135m", "RAGQA_MAX_NEW_TOKENS": "8"}
    run_ingest(docs, index_dir, {**os.environ, **env})
    with running_server(env, work / "server.log") as (client, _, _):
        yield client


# The schema the app serves at /openapi.json, built without starting it (pytest collects before the
# server runs); test_the_served_schema_is_the_one_tested checks that the running server serves this one.
OPENAPI = create_app().openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)


def test_the_served_schema_is_the_one_tested(server):
    assert server.get("/openapi.json").json() == OPENAPI


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_every_response_is_documented_and_none_is_a_server_error(case, server):
    # Every check but "schema-valid data is accepted": the API also refuses valid JSON for reasons a schema
    # cannot state (an upload named "files" has no supported extension), with 4xx and a reason.
    response = case.call_and_validate(base_url=str(server.base_url).rstrip("/"), timeout=120,
                                      excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500 or response.status_code == 503
    assert "Traceback" not in response.text and "/work/" not in response.text
    key = f"{case.method} {case.path}"
    cases_run[key] = cases_run.get(key, 0) + 1


def test_report_schemathesis_cases():
    """Runs after the schema tests in this file: prints how many cases each operation got."""
    total = sum(cases_run.values())
    print(f"\nschemathesis: {total} cases: " + ", ".join(f"{k} {n}" for k, n in sorted(cases_run.items())))
    assert total > 0
