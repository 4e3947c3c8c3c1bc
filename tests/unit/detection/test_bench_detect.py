"""bench/bench_detect.py answers --help and times the forest on a tiny simulated fleet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "include")}
    cmd = [sys.executable, str(REPO / "bench" / "bench_detect.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)


def test_help() -> None:
    out = _run("--help")
    assert out.returncode == 0 and "--forest" in out.stdout


def test_forest_timing_on_two_models() -> None:
    out = _run("--forest", "--models", "2")
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("fit"))
    assert "ms/model-day" in line and "with sklearn's score_samples" in line
