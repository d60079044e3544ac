# make run: install, ingest docs/, serve on http://127.0.0.1:8000.   make test: install (and Chromium), run the tests.
# Both are idempotent: a second run skips installs and re-embeds nothing unchanged.
VENV ?= .venv
export VENV

.PHONY: setup run test ingest

setup:
	bash scripts/setup.sh

ingest: setup
	$(VENV)/bin/python -m ingest

run: setup
	bash scripts/serve.sh

test: setup
	bash scripts/setup-test.sh
	$(VENV)/bin/python -m pytest
