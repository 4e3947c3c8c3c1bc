"""bench/bench_profile.py's pieces on small inputs, without Airflow (the benchmark seeds a
fleet and runs two hours through dag.test(); `python bench/bench_profile.py` runs it)."""

from __future__ import annotations

import time

from tests.unit.bench.scripts import load


def test_each_moment_is_charged_to_the_innermost_timed_call() -> None:
    bench = load("bench_profile")
    clock = bench.StageClock()

    def inner() -> None:
        time.sleep(0.05)

    def outer() -> None:
        time.sleep(0.02)
        clock.timed("inner", inner)()

    clock.timed("outer", outer)()
    assert 0.05 <= clock.seconds["inner"] < 0.5
    assert 0.02 <= clock.seconds["outer"] < 0.05  # its own time only, not inner's


def test_every_timed_function_exists_and_is_put_back() -> None:
    import pandas as pd

    bench = load("bench_profile")
    before = pd.DataFrame.to_parquet
    undo = bench.install(bench.StageClock())
    try:
        assert pd.DataFrame.to_parquet is not before
        assert pd.DataFrame.to_parquet.__wrapped__ is before
    finally:
        undo()
    assert pd.DataFrame.to_parquet is before


def test_the_table_orders_stages_by_time_and_ends_with_the_wall_time() -> None:
    lines = load("bench_profile").table({"a": 1.0, "b": 3.0}, 4.0).splitlines()
    assert lines[:2] == ["| stage | s | share |", "|---|---|---|"]
    assert lines[2:] == ["| b | 3.00 | 75 % |", "| a | 1.00 | 25 % |",
                         "| **one hourly run, wall** | **4.00** | 100 % |"]  # fmt: skip


def test_the_machine_is_named_by_its_kind() -> None:
    text = load("bench_profile").machine()
    assert " cores, " in text and " GiB, load average " in text
