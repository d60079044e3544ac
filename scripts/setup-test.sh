#!/usr/bin/env bash
# What the tests need beyond the service (scripts/setup.sh): Playwright for Python and Debian's Chromium,
# for the web page's browser test. `make test` (and so CI) runs it; the Docker image does not.
#   VENV=.venv   the virtual environment scripts/setup.sh made
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"

"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-test.lock

if ! command -v chromium >/dev/null 2>&1; then
  echo "setup-test: installing Chromium (Debian package) for the browser test"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-test: error: Chromium is missing and apt-get is not available; install chromium yourself" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium
fi
echo "setup-test: $(chromium --version 2>/dev/null | head -1)"
