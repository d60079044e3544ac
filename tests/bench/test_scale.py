"""`python -m bench.scale` runs to the end at a small size: the synthetic index is built, searched and measured."""
from __future__ import annotations

import subprocess
import sys

from bench.server_process import ROOT


def test_the_scale_benchmark_runs_to_the_end(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench.scale", "--sizes", "2000", "--json", str(tmp_path / "scale.json")],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2,000" in result.stdout or "2000" in result.stdout
    assert (tmp_path / "scale.json").stat().st_size > 0
