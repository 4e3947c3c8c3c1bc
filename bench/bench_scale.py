"""Time one hourly run of model_health, end to end on a real Airflow, as the fleet grows.

    make bench-scale [SCALE_ARGS="--models 20"]
    python bench/bench_scale.py [--models 100,1000,10000] [--warehouse duckdb|postgres]
    python bench/bench_scale.py --models 10000 --seed-only   # simulate and seed only

For each fleet size: simulate the fleet (7 days of one-minute history per model, plus the hours
run) and seed a fresh warehouse a chunk of models at a time, start a real Airflow deployment
(the tests' deployment harness, tests/deployment/airflow_harness.py: api-server, scheduler,
dag-processor and triggerer; LocalExecutor, parallelism 4; a PostgreSQL metadata database),
then trigger, through the REST API, one after the other:

1. `model_training` for the day: stage the 7-day history, fit every model's detector;
2. `model_health` for 09:00: an hourly run whose detectors are trained (every run of the day
   when the daily training has run);
3. `model_health` for 10:00 after deleting the detector cache: the day's first run when no
   training ran, which reads the 7-day history and fits every detector inside the run.

Printed per run, one table row (`| 10,000 | hourly, trained | wall s | extract | ... |`): wall
time from the run's start to its end, each stage's wall time from the task instances' own start
and end (a mapped stage: first start to last end; the training's stage and train stand in the
extract and detect columns), the number of task instances, and the peak memory of a
LocalExecutor worker (the worker process with the task it runs, as proportional set size, so
the pages a forked task shares with its worker count once; sampled every 0.2 s; the RSS sum is
printed beside each row as it ends). Asserts nothing; the figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAG = "model_health"
STAGES = ("extract", "validate", "detect", "persist", "route")
TRAIN_STAGES = ("stage", "train")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def runs(day: datetime) -> list[tuple[str, str, dict]]:
    """(label, DAG, conf) of the runs timed for a fleet, in order, on the incident `day`."""
    return [
        ("daily training", "model_training", {"day": f"{day:%Y-%m-%d}", "wait": False}),
        ("hourly, trained", DAG, {"hour": f"{day + timedelta(hours=9):%Y-%m-%dT%H:%M:%SZ}"}),
        ("hourly, untrained", DAG, {"hour": f"{day + timedelta(hours=10):%Y-%m-%dT%H:%M:%SZ}"}),
    ]


class WorkerMemory:
    """Peak memory of each LocalExecutor worker's process tree (worker + the task it runs).

    Proportional set size (PSS): a task process is forked from its worker and shares the
    worker's pages until either writes them, so summing the two processes' resident sets (RSS)
    counts those pages twice. PSS charges a shared page to its sharers in equal parts, so the
    sum is what the tree holds; the RSS sum is kept beside it."""

    def __init__(self, scheduler_pid: int) -> None:
        import psutil

        self.root = psutil.Process(scheduler_pid)
        self.peak: dict[int, int] = {}
        self.peak_rss: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.2):
            try:
                workers = self.root.children()
            except psutil.Error:
                return
            for w in workers:
                try:
                    tree = [w, *w.children(recursive=True)]
                    full = [p.memory_full_info() for p in tree]
                except psutil.Error:
                    continue
                pss, rss = sum(f.pss for f in full), sum(f.rss for f in full)
                self.peak[w.pid] = max(self.peak.get(w.pid, 0), pss)
                self.peak_rss[w.pid] = max(self.peak_rss.get(w.pid, 0), rss)

    def __enter__(self) -> WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def max_mb(self) -> float:
        """The largest worker's peak PSS."""
        return max(self.peak.values(), default=0) / 2**20

    def max_rss_mb(self) -> float:
        """The largest worker's peak RSS sum (shared pages counted once per process)."""
        return max(self.peak_rss.values(), default=0) / 2**20


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def stage_times(tis: list[dict]) -> dict[str, float]:
    out = {}
    for stage in STAGES + TRAIN_STAGES:
        mine = [t for t in tis if t["task_id"] == stage and t["start_date"] and t["end_date"]]
        if mine:
            start = min(ts(t["start_date"]) for t in mine)
            end = max(ts(t["end_date"]) for t in mine)
            out[stage] = (end - start).total_seconds()
    return out


def task_profile(tis: list[dict], top: int = 8) -> str:
    """Where a run's time went, per task: instances, their summed and longest seconds (a
    mapped task's instances overlap, so the sum is work, not wall time)."""
    spans: dict[str, list[float]] = {}
    for t in tis:
        if t["start_date"] and t["end_date"]:
            took = (ts(t["end_date"]) - ts(t["start_date"])).total_seconds()
            spans.setdefault(t["task_id"], []).append(took)
    ranked = sorted(spans.items(), key=lambda kv: -sum(kv[1]))[:top]
    return "; ".join(f"{k} x{len(v)} {sum(v):.1f} (max {max(v):.1f})" for k, v in ranked)


def seed_fleet(n: int, warehouse: str, workdir: Path) -> tuple[str, float, int]:
    """Simulate `n` models (8 days, up to the hours the runs process) into a fresh warehouse,
    a chunk of models at a time; returns its URI, the seconds it took and the metric rows."""
    from modelwatch.sim.fleet import DEMO_DAY, FleetSpec, FleetStream
    from modelwatch.sim.seed import seed
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    t0 = time.perf_counter()
    fleet = FleetStream(FleetSpec(n_models=n, days=8, end=DEMO_DAY + timedelta(hours=11)))
    if warehouse == "duckdb":
        uri = f"duckdb:///{workdir / 'warehouse.duckdb'}"
    else:
        import uuid

        import adbc_driver_postgresql.dbapi as pg

        name = f"mw_bench_{uuid.uuid4().hex[:8]}"
        with pg.connect(PG_ADMIN, autocommit=True) as con, con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        uri = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with open_warehouse(spec_from_uri(uri), migrate=True) as wh:
        rows = seed(wh, fleet)
    del fleet
    gc.collect()
    return uri, time.perf_counter() - t0, rows


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def drop_database(uri: str) -> None:
    """Drop a PostgreSQL warehouse `seed_fleet` created."""
    import adbc_driver_postgresql.dbapi as pg

    with pg.connect(PG_ADMIN, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{uri.rsplit("/", 1)[1]}" WITH (FORCE)')


def seed_only(n: int, warehouse: str) -> None:
    """Time seeding alone (no Airflow): seconds, rows and this process's peak memory."""
    with tempfile.TemporaryDirectory(prefix=f"mw-seed-{n}-") as tmp:
        uri, seconds, rows = seed_fleet(n, warehouse, Path(tmp))
        if warehouse == "postgres":
            drop_database(uri)
    mem = peak_rss_mb()
    print(f"| {n:,} | seed | {seconds:.1f} | {rows:,} metric rows | peak RSS {mem:,.0f} MB |")


def bench_fleet(n: int, warehouse: str, untrained: bool) -> list[dict]:
    """Seed `n` models, start a deployment on them, time the runs; the deployment is stopped
    (and a PostgreSQL warehouse dropped) whatever happens."""
    if str(ROOT) not in sys.path:  # the deployment harness lives with the tests
        sys.path.insert(0, str(ROOT))
    from modelwatch.sim.fleet import DEMO_DAY
    from tests.deployment.airflow_harness import AirflowServer

    with tempfile.TemporaryDirectory(prefix=f"mw-scale-{n}-") as tmp:
        workdir = Path(tmp)
        uri, t_seed, rows = seed_fleet(n, warehouse, workdir)
        print(
            f"  {n:,} models: {rows:,} metric rows simulated and seeded in {t_seed:.0f} s "
            f"(peak RSS {peak_rss_mb():,.0f} MB)",
            flush=True,
        )
        server = AirflowServer(
            workdir / "airflow",
            PG_ADMIN,
            {
                "MODELWATCH_STAGING_DIR": str(workdir / "stg"),
                # only the runs measured here: no scheduled run of today competes with them
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            },
        )
        results = []
        try:
            server.start()
            slots = "1" if warehouse == "duckdb" else "4"  # DuckDB: one writer at a time
            server.cli("pools", "set", "modelwatch_warehouse", slots, "warehouse")
            server.cli("connections", "add", "modelwatch_warehouse", "--conn-uri", uri)
            for dag_id in (DAG, "model_training"):
                server.wait_for_dag(dag_id)
                server.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
            for label, dag_id, conf in runs(DEMO_DAY):
                if label == "hourly, untrained" and not untrained:
                    continue
                if label == "hourly, untrained":
                    shutil.rmtree(workdir / "stg" / "_detectors")
                with WorkerMemory(server.procs["scheduler"].pid) as mem:
                    run = server.api(
                        "POST",
                        f"/dags/{dag_id}/dagRuns",
                        json={"logical_date": None, "conf": conf},
                    )
                    run = server.wait_for_run(dag_id, run["dag_run_id"], timeout=1800)
                tis = server.api(
                    "GET", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances"
                )["task_instances"]
                if run["state"] != "success":
                    report_failure(workdir / "airflow" / "logs", run, tis)
                results.append(
                    {
                        "models": n,
                        "run": label,
                        "total": (ts(run["end_date"]) - ts(run["start_date"])).total_seconds(),
                        **stage_times(tis),
                        "tis": len(tis),
                        "shards": sum(t["task_id"] in ("detect", "train") for t in tis),
                        "mem": mem.max_mb(),
                        "rss": mem.max_rss_mb(),
                    }
                )
                print(
                    "  " + row(results[-1]), f"(RSS sum {results[-1]['rss']:,.0f} MB)", flush=True
                )
                print(f"    task seconds: {task_profile(tis)}", flush=True)
        finally:
            server.stop()
            if warehouse == "postgres":
                drop_database(uri)
        return results


def report_failure(logs: Path, run: dict, tis: list[dict]) -> None:
    """A run that did not succeed: its state, each failed task and the end of its log (the
    benchmark's folder goes when it ends), so a row is never read as a successful run."""
    print(f"  run {run['dag_run_id']} ended {run['state']}", flush=True)
    for ti in tis:
        if ti["state"] in ("failed", "upstream_failed"):
            print(f"    {ti['task_id']}[{ti.get('map_index', -1)}]: {ti['state']}", flush=True)
        if ti["state"] == "failed":
            for log in logs.glob(
                f"dag_id={run['dag_id']}/run_id={run['dag_run_id']}/task_id={ti['task_id']}/**/*.log"
            ):
                print("      " + log.read_text()[-3000:].replace("\n", "\n      "), flush=True)


HEADER = (
    "| models | run | wall s | extract | validate | detect | persist | route | tasks "
    "| peak worker MB |"
)


def table(results: list[dict]) -> str:
    """The runs' figures as one Markdown table: the training's stage and train times stand in
    the extract and detect columns."""
    return "\n".join([HEADER, "| --- " * 10 + "|", *(row(r) for r in results)])


def row(r: dict) -> str:
    names = ("stage", "validate", "train", "persist", "route") if "train" in r else STAGES
    stages = " | ".join(f"{r[s]:.1f}" if s in r else "-" for s in names)
    return (
        f"| {r['models']:,} | {r['run']} | {r['total']:.1f} | {stages} "
        f"| {r['tis']} | {r['mem']:,.0f} |"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="100,1000,5000")
    ap.add_argument("--warehouse", choices=("duckdb", "postgres"), default="duckdb")
    ap.add_argument(
        "--untrained-up-to",
        type=int,
        default=None,
        help="time the untrained hourly run only for fleets up to this size (default: every "
        "fleet; it refits every detector)",
    )
    ap.add_argument(
        "--seed-only",
        action="store_true",
        help="only simulate and seed each fleet (no Airflow): seconds, rows, peak memory",
    )
    args = ap.parse_args(argv)
    import psutil

    # stopped from outside: unwind, so the deployment's processes and databases go too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(
        f"model_health on LocalExecutor, {args.warehouse} warehouse, "
        f"{psutil.cpu_count()} CPUs, 7 days of 1-minute history per model"
    )
    fleets = [int(x) for x in args.models.split(",")]
    if args.seed_only:
        for n in fleets:
            seed_only(n, args.warehouse)
        return
    results = []
    for n in fleets:
        untrained = args.untrained_up_to is None or n <= args.untrained_up_to
        results += bench_fleet(n, args.warehouse, untrained)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
