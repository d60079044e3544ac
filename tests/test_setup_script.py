"""The install script that `make`, CI and the Dockerfile share: idempotent, and really the one they run."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_dockerfile_installs_and_serves_with_the_shared_scripts():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^RUN bash scripts/setup\.sh", dockerfile, re.M)
    assert re.search(r'^CMD \["bash", "scripts/serve\.sh"\]', dockerfile, re.M)
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M) and "HEALTHCHECK" in dockerfile and "/readyz" in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "bash scripts/setup.sh" in makefile and "bash scripts/serve.sh" in makefile
    # The browser test's Chromium comes with the test set-up, never into the image.
    assert "bash scripts/setup-test.sh" in makefile and "setup-test" not in dockerfile and "chromium" not in dockerfile.lower()
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.slow
def test_setup_script_is_idempotent_and_prepares_a_fresh_model_cache(tmp_path):
    """A second run installs nothing; with an empty cache it quantizes the generator, writing only the int8 copy."""
    venv = Path(sys.executable).parent.parent
    env = {**os.environ, "VENV": str(venv), "RAGQA_CACHE_DIR": str(tmp_path / "cache"), "RAGQA_MODEL": "smollm2-135m"}
    result = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "packages already installed" in result.stdout
    int8_copies = list((tmp_path / "cache" / "models").glob("SmolLM2-135M-Instruct*.int8-*/model.safetensors"))
    assert len(int8_copies) == 1, "the default precision's int8 copy is made"
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == [int8_copies[0].parent.name], \
        "no float32 copy is written"
    assert (int8_copies[0].parent / "tokenizer.json").is_file(), "the copy loads on its own"
    assert list((tmp_path / "cache" / "embeddings").rglob("*.onnx")), "the default ONNX embedder is exported"
    again = subprocess.run(["bash", "scripts/setup.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "packages already installed" in again.stdout
    assert str(int8_copies[0].parent) in again.stdout, "the cached int8 copy is reused"
