"""bench/bench_whatif.py on a tiny window: a one-hour shadow of a small fleet leaves production
alone, and its time is told by step group (`run_hour`'s timings are keyed by step)."""

from __future__ import annotations

import pytest

from tests.unit.bench.scripts import load


def test_a_one_hour_shadow_leaves_production_unchanged(tmp_path, capsys) -> None:
    tiny = ["--models", "8", "--days", "1", "--hours", "1", "--production-hours", "1"]
    load("bench_whatif").main([*tiny, "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "shadow: 8 models x 1 hours in" in out
    assert "gate (extract + validate)" in out and "detection (detect + persist)" in out
    assert "model_metrics" in out and "mw_scores" in out
    assert out.strip().endswith("production unchanged")
    assert (tmp_path / "staging" / "_whatif" / "bench").is_dir()  # its own folders, not ours


def test_every_step_s_time_is_counted_once() -> None:
    bench = load("bench_whatif")
    timings = {"extract": 1.0, "validate": 2.0, "detect": 3.0, "persist": 4.0, "resolve": 0.5}
    lines = dict(bench.breakdown(timings, wall=12.0))
    assert lines["gate (extract + validate)"] == 3.0
    assert lines["detection (detect + persist)"] == 7.0
    assert lines["other steps (resolve)"] == 0.5
    assert lines["outside the steps (record, silences, bar)"] == pytest.approx(1.5)
    assert sum(lines.values()) == pytest.approx(12.0)
