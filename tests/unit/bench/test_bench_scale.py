"""bench/bench_scale.py's pieces on a tiny input, without starting Airflow (the benchmark
starts a whole deployment; `make bench-scale SCALE_ARGS="--models 20"` runs it end to end)."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.bench.scripts import load


def test_it_seeds_a_tiny_fleet(tmp_path) -> None:
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    bench = load("bench_scale")
    uri, seconds, rows = bench.seed_fleet(5, "duckdb", tmp_path)
    assert uri == f"duckdb:///{tmp_path / 'warehouse.duckdb'}" and seconds > 0
    with open_warehouse(spec_from_uri(uri)) as wh:
        got = wh.query("SELECT COUNT(*) AS n, COUNT(DISTINCT model_id) AS m FROM model_metrics")
    assert (int(got["n"].iloc[0]), int(got["m"].iloc[0])) == (rows, 5)


def test_the_runs_process_hours_the_fleet_holds() -> None:
    from modelwatch.sim.fleet import DEMO_DAY

    (train, trained, untrained) = load("bench_scale").runs(DEMO_DAY)
    assert train[1:] == ("model_training", {"day": "2026-11-01", "wait": False})
    assert trained[2] == {"hour": "2026-11-01T09:00:00Z"}
    assert untrained[2] == {"hour": "2026-11-01T10:00:00Z"}  # before the fleet ends at 11:00


def test_stage_times_span_each_stage_s_task_instances() -> None:
    def ti(task: str, start: int, end: int | None) -> dict:
        at = "2026-11-01T09:00:{:02d}Z".format
        return {"task_id": task, "start_date": at(start), "end_date": end and at(end)}

    tis = [ti("detect", 1, 3), ti("detect", 2, 6), ti("persist", 7, None)]  # persist still runs
    assert load("bench_scale").stage_times(tis) == {"detect": 5.0}


def test_the_task_profile_ranks_tasks_by_their_summed_seconds() -> None:
    def ti(task: str, start: int, end: int | None) -> dict:
        at = "2026-11-01T09:00:{:02d}Z".format
        return {"task_id": task, "start_date": at(start), "end_date": end and at(end)}

    tis = [ti("detect", 1, 4), ti("detect", 2, 7), ti("summary", 8, 12), ti("route", 7, None)]
    got = load("bench_scale").task_profile(tis, top=2)
    assert got == "detect x2 8.0 (max 5.0); summary x1 4.0 (max 4.0)"


def test_the_table_has_a_row_per_run_in_the_issue_s_format() -> None:
    bench = load("bench_scale")
    hourly = {"models": 10000, "run": "hourly, trained", "total": 33.04, "extract": 1.9,
              "validate": 4.7, "detect": 6.3, "persist": 1.2, "route": 1.0, "tis": 17,
              "shards": 4, "mem": 1221.4}  # fmt: skip
    training = {"models": 1000, "run": "daily training", "total": 111.8, "stage": 22.5,
                "train": 79.0, "tis": 7, "shards": 4, "mem": 2578}  # fmt: skip
    lines = bench.table([training, hourly]).splitlines()
    assert lines[0] == bench.HEADER and lines[1] == "| --- " * 10 + "|"
    assert lines[2] == "| 1,000 | daily training | 111.8 | 22.5 | - | 79.0 | - | - | 7 | 2,578 |"
    assert (
        lines[3] == "| 10,000 | hourly, trained | 33.0 | 1.9 | 4.7 | 6.3 | 1.2 | 1.0 | 17 | 1,221 |"
    )
    assert all(line.count("|") == 11 for line in lines)


def test_seed_only_seeds_and_reports_without_airflow(capsys) -> None:
    load("bench_scale").main(["--models", "3", "--seed-only"])
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("| 3 | seed | ") and "34,560 metric rows" in line and "MB |" in line


def test_worker_memory_follows_the_processes_below_a_parent() -> None:
    import psutil

    from tests.deployment.airflow_harness import wait_until

    bench = load("bench_scale")
    child = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    try:
        with bench.WorkerMemory(psutil.Process().pid) as mem:
            wait_until(lambda: child.pid in mem.peak, 30, "the child to be sampled")
        assert mem.max_mb() > 1
    finally:
        child.communicate(b"\n", timeout=30)
