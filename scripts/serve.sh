#!/usr/bin/env bash
# Brings the index up to date with the document folder, then serves the API.
# Used by `make run` and as the Docker image's command. HOST and PORT pick the address.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
export HF_HUB_OFFLINE=1
"$VENV/bin/python" -m ingest || echo "serve: ingest reported a problem (above); serving the index as it is"
exec "$VENV/bin/uvicorn" app.main:app --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
