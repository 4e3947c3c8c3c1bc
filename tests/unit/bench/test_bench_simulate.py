"""bench/bench_simulate.py on a tiny fleet: it simulates and prints its one timing line."""

from __future__ import annotations

from tests.unit.bench.scripts import load


def test_prints_the_fleet_it_simulated(capsys) -> None:
    load("bench_simulate").main(["--models", "3", "--days", "1"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("models=3 days=1 rows=4,320 seconds=")  # 3 models x 1,440 minutes
    assert "peak_rss_mb=" in line
