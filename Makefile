# make run: install, ingest docs/, serve on http://127.0.0.1:8000.   make test: install (and Chromium), run the tests.
# Both are idempotent: a second run skips installs and re-embeds nothing unchanged.
# make docker-test: build the Docker image and run it as a user would (scripts/docker-test.sh, docs/docker.md).
VENV ?= .venv
export VENV

.PHONY: setup run test ingest docker-test

setup:
	bash scripts/setup.sh

ingest: setup
	$(VENV)/bin/python -m ingest

run: setup
	bash scripts/serve.sh

test: setup
	bash scripts/setup-test.sh
	$(VENV)/bin/python -m pytest

docker-test:
	bash scripts/docker-test.sh
