#!/usr/bin/env bash
# Brings the index up to date with the document folder (while the models load), then serves the API and the web page:
# `ragqa serve` (cli/main.py). Used by `make run` and as the Docker image's command. HOST and PORT pick the address.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
export HF_HUB_OFFLINE=1
exec "$VENV/bin/ragqa" serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
