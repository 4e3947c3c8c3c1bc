"""bench/bench_nab.py answers --help and runs end to end on a tiny corpus of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO / "bench" / "bench_nab.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "include")}
    return subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, env=env, check=False
    )


def test_help_needs_no_corpus() -> None:
    out = _run("--help")
    assert out.returncode == 0 and "--resample" in out.stdout and "--time-corpus" in out.stdout


def _corpus(root: Path) -> None:
    """An artificial file and three AWS-named ones (both halves of the AWS split) of 600
    five-minute rows, each with a spike in a window, and a no-anomaly file without windows."""
    labels = {}
    rng = np.random.default_rng(0)
    names = [
        "artificialWithAnomaly/a1.csv",
        "artificialNoAnomaly/a2.csv",
        "realAWSCloudwatch/b1.csv",
        "realAWSCloudwatch/b2.csv",
        "realAWSCloudwatch/b8.csv",  # half B (b1, b2: half A)
    ]
    for name in names:
        ts = pd.date_range("2026-01-01", periods=600, freq="5min")
        value = 10 + rng.normal(0, 1, 600)
        wins = []
        if "NoAnomaly" not in name:
            value[450] += 40
            wins = [[str(ts[420]), str(ts[480])]]
        path = root / "data" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "value": value}).to_csv(
            path, index=False
        )
        labels[name] = wins
    (root / "windows.json").write_text(json.dumps(labels))


def test_fold_and_category_tables_on_a_tiny_corpus(tmp_path: Path) -> None:
    _corpus(tmp_path)
    out = _run("--root", str(tmp_path), "--jobs", "1", "--seeds", "0", "--resample", "10min")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for row in ("art->AWS", "AWS->art", "AWS-B->A", "AWS-A->B", "all"):
        assert any(line.startswith(row) for line in lines), row
    assert any(line.startswith("artificialWithAnomaly") for line in lines)
    assert any("false alarms per seed" in line for line in lines)
    whole = next(line for line in lines if line.startswith("all")).split()
    assert float(whole[1]) > 50  # every spike is a breach inside its window: detected
