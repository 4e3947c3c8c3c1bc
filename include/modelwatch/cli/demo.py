"""`make demo`: the whole pipeline, through Airflow, over the simulated incident day.

Sets up an Airflow home and an embedded warehouse under the project folder (reused on reruns:
nothing is wiped or seeded twice), then runs the `model_health` DAG with `dag.test()` once per
hour and prints one line per hour. Airflow's own chatter goes to `.airflow/demo.log`.

A new warehouse is seeded, and its first day trained as the daily `model_training` DAG would
(detectors fitted, log templates learnt), in a forked child process, while this one sets up the
Airflow home and warms up (`dagtest.warm_up`): two cores, two halves of the start-up.

Each hour holds the warehouse open (`warehouse.held_open`) while its tasks run: `dag.test()`
runs them all in this process, each opening and closing its own connection, and closing the
last connection to a DuckDB file checkpoints it. Held, the hour's tasks share one database
instance and the file is checkpointed once an hour, as a local run's hour is.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from modelwatch.warehouse import WarehouseSpec

POOL = "modelwatch_warehouse"
#: Prediction samples per model and hour the demo fleet emits (with labels), for drift.
DEMO_PREDICTIONS = 240


def demo_env(root: Path) -> dict[str, str]:
    """The environment the demo (and `make up`) run with; existing values win."""
    env = {
        "AIRFLOW_HOME": str(root / ".airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_MODELWATCH_WAREHOUSE": f"duckdb:///{root / '.data' / 'warehouse.duckdb'}",
        "MODELWATCH_STAGING_DIR": str(root / ".data" / "staging"),
    }
    if (root / "config" / "modelwatch.yaml").exists():
        env["MODELWATCH_CONFIG"] = str(root / "config" / "modelwatch.yaml")
    return {k: os.environ.get(k, v) for k, v in env.items()}


@contextlib.contextmanager
def quiet_to(log: Path) -> Iterator[TextIO]:
    """Send everything written to stdout/stderr (Airflow's task logs) to `log`; yield our own
    handle on the real stdout for the one-line-per-hour report."""
    sys.stdout.flush()
    sys.stderr.flush()
    real = os.dup(1)
    saved_err = os.dup(2)
    with log.open("a") as fh:
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        out = os.fdopen(os.dup(real), "w", buffering=1)
        try:
            yield out
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(real, 1)
            os.dup2(saved_err, 2)
            os.close(real)
            os.close(saved_err)
            out.close()


def seed_demo(spec: WarehouseSpec, n_models: int, out: TextIO) -> None:
    """Simulate the demo fleet and its story (logs, changes, labels, an upstream outage) and
    load them into the empty warehouse `spec`."""
    from modelwatch.sim.fleet import FleetSpec, simulate_fleet
    from modelwatch.sim.seed import seed
    from modelwatch.sim.story import tell_story
    from modelwatch.warehouse import open_warehouse

    fspec = FleetSpec(n_models=n_models, predictions=DEMO_PREDICTIONS, labels=True)
    fleet = simulate_fleet(fspec)
    story = tell_story(fleet, fspec)
    with open_warehouse(spec, migrate=True) as wh:
        seed(wh, fleet, story)
    print(
        f"seeded {len(fleet.metrics):,} rows for {n_models} models "
        f"({len(fleet.incidents) + len(story.incidents)} labelled incidents, "
        f"{len(story.logs):,} log lines, {len(story.changes)} changes)",
        file=out,
    )


def train_first_day(spec: WarehouseSpec, day: datetime, out: TextIO) -> None:
    """What the daily `model_training` DAG does before a day begins (`pipeline.training`): fit
    and cache the day's detectors, learn its log templates. The first hour would otherwise fit
    them itself, the same ones (tests/integration/test_training.py), on the demo's critical path."""
    from modelwatch.config import load_settings
    from modelwatch.folders import Folders
    from modelwatch.pipeline import training

    settings = load_settings()
    folders = Folders.from_env(settings)
    shards = training.stage_training(spec, settings, day, folders)
    fitted = sum(training.train_shard(spec, settings, day, s, folders)["fitted"] for s in shards)
    training.train_log_templates(spec, settings, day)
    print(f"trained {fitted} detectors and the log templates for {day:%Y-%m-%d}", file=out)


def prepare_warehouse(spec: WarehouseSpec, n_models: int, day: datetime, log: Path) -> None:
    """Seed the demo warehouse, then train its first day; the logging goes to `log`."""
    with quiet_to(log) as out:
        seed_demo(spec, n_models, out)
        train_first_day(spec, day, out)


def start_seeding(spec: WarehouseSpec, n_models: int, day: datetime, log: Path) -> Any:
    """Seed and train (`prepare_warehouse`) in a forked child process, seconds of one core,
    beside the Airflow home's set-up and the warm-up on the other core; `finish_seeding` joins
    the child before the first hour. Where fork is not available, do it here and return None.
    This process leaves the warehouse closed until the child is joined."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        prepare_warehouse(spec, n_models, day, log)
        return None
    child = multiprocessing.get_context("fork").Process(
        target=prepare_warehouse, args=(spec, n_models, day, log), name="modelwatch-demo-seed"
    )
    child.start()
    return child


def finish_seeding(child: Any) -> None:
    """Wait for the child; its failure ends the demo (its traceback is printed above)."""
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(
            f"seeding the demo warehouse or training its first day failed (exit code "
            f"{child.exitcode}): see the traceback above"
        )


def run_demo(day: datetime | None = None, n_models: int = 24, hours: int = 24) -> int:
    root = Path.cwd()
    os.environ.update(demo_env(root))
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = home / "demo.log"
    t0 = time.perf_counter()

    from modelwatch.config import load_settings
    from modelwatch.pipeline.summary import format_summary
    from modelwatch.sim.fleet import DEMO_DAY
    from modelwatch.sim.seed import is_seeded
    from modelwatch.warehouse import held_open, open_warehouse, warehouse_spec

    settings = load_settings()
    spec = warehouse_spec(settings.warehouse_conn_id)
    if spec.conn_type in ("postgres", "postgresql"):
        from modelwatch.warehouse.postgres_backend import ensure_database

        if ensure_database(spec.postgres_uri()):
            print(f"created database {spec.describe()}")
    # A new warehouse is migrated by the child that seeds it (its DDL takes 1-2 s); one that is
    # reused is brought up to date here. (A write schema must be migrated to be entered.)
    with open_warehouse(spec, migrate=bool(spec.write_schema)) as wh:
        seeded = is_seeded(wh)
    if seeded:
        open_warehouse(spec, migrate=True).close()
        where = spec.duckdb_path if spec.conn_type == "duckdb" else spec.describe()
        print(f"warehouse {where} already seeded: reusing it")
    first = day or DEMO_DAY
    seeding = None if seeded else start_seeding(spec, n_models, first.replace(hour=0), log)

    print(f"preparing Airflow home {home} (log: {log})", flush=True)
    from modelwatch.airflow.dagtest import (
        dag_files_parsed_once,
        load_dag,
        prepare_home,
        run_hour,
        warm_up,
    )

    with quiet_to(log):
        prepare_home(POOL, 1)
        dag = load_dag()
        warm_up()
    t_home = time.perf_counter()
    if seeding is not None:
        finish_seeding(seeding)
    t_ready = time.perf_counter()
    print(f"running model_health for {hours} hours from {first:%Y-%m-%d %H:00} UTC", flush=True)
    failed = []
    with dag_files_parsed_once():  # the DAG file does not change while the demo runs
        for i in range(hours):
            hour = first + timedelta(hours=i)
            with quiet_to(log) as out, held_open(spec):
                state = run_hour(dag, hour, {"notify": True, "dry_run": True})
                with open_warehouse(spec) as wh:
                    row = wh.query("SELECT * FROM mw_runs WHERE hour = :h", {"h": hour})
                if state.endswith("success") and len(row):
                    print(format_summary(row.iloc[0].to_dict()), file=out)
                else:
                    failed.append(hour)
                    print(f"{hour:%Y-%m-%d %H:00}  run {state}: see {log}", file=out)
    end = time.perf_counter()
    print(
        f"\ndone in {end - t0:.1f} s (warehouse and Airflow home {t_ready - t0:.1f} s, of which"
        f" the home and warm-up {t_home - t0:.1f} s; {hours} hours {end - t_ready:.1f} s).\n"
        f"Outputs: {spec.describe()} (tables mw_runs, mw_validation,"
        f" mw_scores, mw_alerts, mw_notifications, mw_remediation_requests); Airflow log: {log}"
    )
    return 1 if failed else 0
