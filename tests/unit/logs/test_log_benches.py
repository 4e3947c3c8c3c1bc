"""The log benchmarks answer `--help` without services and run on a tiny input (their figures
are printed by the full runs, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "include")}


def bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "script",
    ["bench/bench_log_accuracy.py", "bench/bench_log_templates.py", "bench/logs/make_corpus.py"],
)
def test_help(script: str) -> None:
    assert "usage" in bench(script, "--help")


def test_tiny_runs(tmp_path) -> None:
    out = bench("bench/logs/make_corpus.py", "--lines", "60", "--out", str(tmp_path))
    assert "proxy" in out and len(list(tmp_path.glob("*.jsonl"))) == 8
    table = bench("bench/bench_log_accuracy.py", "--data", str(tmp_path))
    assert table.count("| 60 |") == 8 and "**mean**" in table
    timings = bench(
        "bench/bench_log_templates.py", "--lines", "80", "--distinct", "30", "--big-kb", "1"
    )
    assert "80 corpus lines" in timings and "30 distinct lines" in timings
