"""`make demo`: the whole pipeline, through Airflow, over the simulated incident day.

Sets up an Airflow home and an embedded warehouse under the project folder (reused on reruns:
nothing is wiped or seeded twice), then runs the `model_health` DAG with `dag.test()` once per
hour and prints one line per hour. Airflow's own chatter goes to `.airflow/demo.log`.

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
from typing import TextIO

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


def run_demo(day: datetime | None = None, n_models: int = 24, hours: int = 24) -> int:
    root = Path.cwd()
    os.environ.update(demo_env(root))
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    log = home / "demo.log"
    t0 = time.perf_counter()

    from modelwatch.config import load_settings
    from modelwatch.pipeline.summary import format_summary
    from modelwatch.sim.fleet import DEMO_DAY, FleetSpec, simulate_fleet
    from modelwatch.sim.seed import is_seeded, seed
    from modelwatch.sim.story import tell_story
    from modelwatch.warehouse import held_open, open_warehouse, warehouse_spec

    settings = load_settings()
    spec = warehouse_spec(settings.warehouse_conn_id)
    if spec.conn_type in ("postgres", "postgresql"):
        from modelwatch.warehouse.postgres_backend import ensure_database

        if ensure_database(spec.postgres_uri()):
            print(f"created database {spec.describe()}")
    with open_warehouse(spec, migrate=True) as wh:
        if is_seeded(wh):
            print(
                f"warehouse {spec.duckdb_path if spec.conn_type == 'duckdb' else spec.describe()}"
                " already seeded: reusing it"
            )
        else:
            fspec = FleetSpec(n_models=n_models, predictions=DEMO_PREDICTIONS, labels=True)
            fleet = simulate_fleet(fspec)
            story = tell_story(fleet, fspec)  # logs, changes, labels, an upstream outage
            seed(wh, fleet, story)
            print(
                f"seeded {len(fleet.metrics):,} rows for {n_models} models "
                f"({len(fleet.incidents) + len(story.incidents)} labelled incidents, "
                f"{len(story.logs):,} log lines, {len(story.changes)} changes)"
            )

    t_seeded = time.perf_counter()
    print(f"preparing Airflow home {home} (log: {log})", flush=True)
    from modelwatch.airflow.dagtest import load_dag, prepare_home, run_hour

    with quiet_to(log):
        prepare_home(POOL, 1)
        dag = load_dag()
    t_ready = time.perf_counter()
    first = day or DEMO_DAY
    print(f"running model_health for {hours} hours from {first:%Y-%m-%d %H:00} UTC", flush=True)
    failed = []
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
        f"\ndone in {end - t0:.1f} s (warehouse {t_seeded - t0:.1f} s, Airflow home and DAG"
        f" {t_ready - t_seeded:.1f} s, {hours} hours {end - t_ready:.1f} s).\n"
        f"Outputs: {spec.describe()} (tables mw_runs, mw_validation,"
        f" mw_scores, mw_alerts, mw_notifications, mw_remediation_requests); Airflow log: {log}"
    )
    return 1 if failed else 0
