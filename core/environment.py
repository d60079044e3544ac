"""Process set-up shared by every entry point: models come from installed packages, never from a hub.

Each entry point (`app.main.create_app`, `app.prepare`, `python -m ingest`, `ragqa`, the benchmarks, the
tests' conftest) calls `use_offline_models()` first thing. No module imports Hugging Face libraries at
import time, so this runs before they read these variables (`tests/test_architecture.py` checks it).
"""
from __future__ import annotations

import os

OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",  # models come from installed packages, never a hub
    "TOKENIZERS_PARALLELISM": "false",  # tokenizers' own threads would fight the model's for 2 cores
}


def use_offline_models() -> None:
    """Set the offline defaults, keeping any value the user set."""
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
