"""bench/bench_drift.py on a tiny fleet: both parts run through the drift stage as the pipeline
has it, and print their figures."""

from __future__ import annotations

from tests.unit.bench.scripts import load

TINY = ["--models", "8", "--days", "1", "--samples", "120"]


def test_both_parts_on_a_tiny_fleet(capsys) -> None:
    load("bench_drift").main([*TINY, "--speed-models", "5", "--speed-samples", "120"])
    out = capsys.readouterr().out
    (false,) = [line for line in out.splitlines() if line.startswith("false drift alerts:")]
    assert "over 8 models x 1 days" in false
    assert "(8 models tested," in false  # every model's findings were stored
    # the canonical drift incidents are listed, alerted or missed
    assert "model-004 prediction_drift from 06:00: drift alert" in out
    (speed,) = [line for line in out.splitlines() if line.startswith("drift step:")]
    assert "5 models x 120 predictions (600 rows)" in speed
    assert "(5 tested, 0 drifted)" in speed  # predictions drawn from the reference itself
