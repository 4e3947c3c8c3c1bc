"""bench/bench_hints.py on a tiny case: the demo story, a smaller fleet and one hour through
the runner, judged as the benchmark judges it."""

from __future__ import annotations

from tests.unit.bench.scripts import load


def test_one_hour_of_a_small_demo_case(capsys) -> None:
    load("bench_hints").main(["--only", "demo", "--models", "8", "--hours", "1"])
    lines = capsys.readouterr().out.splitlines()
    (score,) = [line for line in lines if line.startswith("demo ")]
    assert "hints: top1=" in score and " top3=" in score
    assert "incidents" in score and score.endswith("for 1 hours)")


def test_a_smaller_fleet_keeps_the_case_s_seed() -> None:
    bench = load("bench_hints")
    assert bench.fleet_spec("seed42-held-out").n_models == 40
    small = bench.fleet_spec("seed42-held-out", models=8)
    assert (small.n_models, small.seed, small.extra_incident_share) == (8, 42, 0.1)
