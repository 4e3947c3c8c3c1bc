"""Where one hourly run of model_health goes, stage by stage, run through Airflow's dag.test().

    python bench/bench_profile.py [--models 10] [--hour 10] [--cprofile FILE]

Seeds a fresh demo warehouse for the fleet (the demo's simulator and story) and an Airflow
home in a temporary folder, runs the hour before `--hour` once (it pays the imports and fits
the day's detectors), then runs `--hour` of the incident day the way `make demo` runs every
hour, with timers on the functions each stage is made of. Every second of the run's wall time
goes to exactly one stage: the innermost timed function running then (a write inside a step
is a write, not step code). Prints one Markdown table (stage, seconds, share of the run) and
each task's own time; with `--cprofile`, also a cProfile dump of the timed run for pstats.
Asserts nothing; the figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_DAG, _DUCK, _TASKS = (
    "airflow.sdk.definitions.dag",
    "modelwatch.warehouse.duckdb_backend",
    ("modelwatch.airflow.tasks"),
)
LOOP = "Airflow: dag.test loop (DAG serialised and parsed, run scheduled)"
TASK = "Airflow: running a task (context, XCom through the execution API)"
GX, OPEN, WRITES = "Great Expectations", "warehouse: connect and close", "warehouse: writes"
PARQUET = "Parquet staging (read and write)"
#: (stage, where, function): the functions timed, each charged to its stage. Outermost first;
#: a function running inside another one is charged to its own stage for its own time.
TIMED: tuple[tuple[str, str, str], ...] = (
    (LOOP, _DAG, "DAG.test"),
    (TASK, _DAG, "_run_task"),
    ("step code (pandas, alert and remediation logic)", _TASKS, "call"),
    ("settings read (YAML, validation)", _TASKS, "load_settings"),
    (GX, "modelwatch.ingest.validate", "run_suite"),
    (GX, "modelwatch.ingest.validate", "frame_batches"),
    ("detection (Isolation Forest scoring)", "modelwatch.pipeline.steps", "detect_models"),
    (OPEN, _DUCK, "connect_with_retry"),
    (OPEN, _DUCK, "DuckDBWarehouse.close"),
    ("warehouse: reads", _DUCK, "DuckDBWarehouse.query"),
    (WRITES, _DUCK, "DuckDBWarehouse.execute"),
    (WRITES, _DUCK, "DuckDBWarehouse._insert_frame"),
    (WRITES, _DUCK, "DuckDBWarehouse.create_from_frame"),
    (PARQUET, "pandas", "DataFrame.to_parquet"),
    (PARQUET, "pandas", "read_parquet"),
)


class StageClock:
    """Wall time per stage, each moment charged to the innermost timed call (main thread)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, float] = defaultdict(float)  # step -> its tasks' wall time
        self.tasks = 0  # task instances run
        self._stack: list[str] = []
        self._since = time.perf_counter()
        self._main = threading.get_ident()

    def enter(self, stage: str) -> None:
        now = time.perf_counter()
        if self._stack:
            self.seconds[self._stack[-1]] += now - self._since
        self._stack.append(stage)
        self._since = now

    def leave(self) -> None:
        now = time.perf_counter()
        self.seconds[self._stack.pop()] += now - self._since
        self._since = now

    def timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != self._main:
                return fn(*args, **kwargs)
            self.enter(stage)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()
                if fn.__name__ == "call":  # a task's step: its name, inclusive wall time
                    self.calls[str(args[0])] += time.perf_counter() - started
                elif fn.__name__ == "_run_task":
                    self.tasks += 1

        return wrapper


def install(clock: StageClock) -> Callable[[], None]:
    """Wrap every function of `TIMED`; returns the function that unwraps them."""
    import importlib

    undo = []
    for stage, where, name in TIMED:
        owner: Any = importlib.import_module(where)
        *path, attr = name.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
        setattr(owner, attr, clock.timed(stage, original))
        undo.append((owner, attr, original))
    return lambda: [setattr(o, a, f) for o, a, f in reversed(undo)]


def machine() -> str:
    """The machine by its kind: cores, memory, and the load while the benchmark ran."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, {pages / 2**30:.0f} GiB, load average {load}"


def table(seconds: dict[str, float], total: float) -> str:
    """The stages as a Markdown table, largest first, and the run's wall time."""
    lines = ["| stage | s | share |", "|---|---|---|"]
    for stage, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {stage} | {s:.2f} | {100 * s / total:.0f} % |")
    lines.append(f"| **one hourly run, wall** | **{total:.2f}** | 100 % |")
    return "\n".join(lines)


def prepare(workdir: Path, n_models: int) -> float:
    """A fresh demo warehouse for `n_models` and a migrated Airflow home; seconds taken."""
    env = {
        "AIRFLOW_HOME": str(workdir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_MODELWATCH_WAREHOUSE": f"duckdb:///{workdir / 'warehouse.duckdb'}",
        "MODELWATCH_STAGING_DIR": str(workdir / "staging"),
        "MODELWATCH_CONFIG": str(ROOT / "config" / "modelwatch.yaml"),
    }
    os.environ.update(env)
    started = time.perf_counter()
    from modelwatch.airflow.dagtest import prepare_home
    from modelwatch.cli.demo import DEMO_PREDICTIONS, POOL
    from modelwatch.config import load_settings
    from modelwatch.sim.fleet import FleetSpec, simulate_fleet
    from modelwatch.sim.seed import seed
    from modelwatch.sim.story import tell_story
    from modelwatch.warehouse import open_warehouse, warehouse_spec

    spec = warehouse_spec(load_settings().warehouse_conn_id)
    fspec = FleetSpec(n_models=n_models, predictions=DEMO_PREDICTIONS, labels=True)
    fleet = simulate_fleet(fspec)
    with open_warehouse(spec, migrate=True) as wh:
        seed(wh, fleet, tell_story(fleet, fspec))
    prepare_home(POOL, 1)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10, help="fleet size (default 10)")
    parser.add_argument(
        "--hour", type=int, default=10, help="hour of the incident day timed (default 10: 10:00)"
    )
    parser.add_argument("--cprofile", help="also write a cProfile dump of the timed run here")
    parser.add_argument("--keep", help="folder for the warehouse and Airflow home (kept)")
    args = parser.parse_args(argv)
    if not 1 <= args.hour <= 23:
        parser.error("--hour must be 1..23 (the hour before it is the warm-up run)")
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="mw-profile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}", flush=True)
    from datetime import timedelta

    from modelwatch.airflow.dagtest import dag_files_parsed_once, load_dag, run_hour
    from modelwatch.cli.demo import quiet_to
    from modelwatch.config import load_settings
    from modelwatch.sim.fleet import DEMO_DAY
    from modelwatch.warehouse import held_open, warehouse_spec

    conf = {"notify": True, "dry_run": True}
    log = workdir / "profile.log"
    print(f"Airflow's log: {log}", flush=True)
    clock = StageClock()
    profiler = None
    with quiet_to(log), dag_files_parsed_once():  # as the demo runs its hours
        setup = prepare(workdir, args.models)
        dag = load_dag()
        spec = warehouse_spec(load_settings().warehouse_conn_id)
        started = time.perf_counter()
        with held_open(spec):  # as the demo holds it for each hour
            run_hour(dag, DEMO_DAY + timedelta(hours=args.hour - 1), conf)
        warmup = time.perf_counter() - started
        undo = install(clock)
        if args.cprofile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        try:
            with held_open(spec):
                state = run_hour(dag, DEMO_DAY + timedelta(hours=args.hour), conf)
        finally:
            total = time.perf_counter() - started
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.cprofile)
            undo()
    hour = DEMO_DAY + timedelta(hours=args.hour)
    print(
        f"models={args.models} hour={hour:%Y-%m-%d %H:00} state={state} "
        f"setup_s={setup:.1f} warmup_s={warmup:.1f} run_s={total:.2f} tasks={clock.tasks}"
    )
    print(table(clock.seconds, total))
    steps = ", ".join(f"{name} {s:.2f}" for name, s in clock.calls.items())
    print(f"task steps (s, inclusive): {steps}")
    print(f"machine: {machine()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
