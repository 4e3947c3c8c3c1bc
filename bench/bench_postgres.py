"""How long the hourly pipeline's warehouse I/O takes on PostgreSQL for a 1,000-model fleet.

Seeds a throwaway database with a simulated fleet, then times, for one hour of the incident day:
reading the hour's rows, reading the hour plus each model's 7-day history (what the extract
task reads), and writing 1,000 score rows back (what the persist task writes). Prints figures;
asserts nothing. Needs PostgreSQL (default postgresql://postgres@127.0.0.1:5432).

    python bench/bench_postgres.py [--models 1000] [--days 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from datetime import timedelta


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--days", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--server",
        default=os.environ.get(
            "MODELWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = ap.parse_args(argv)
    import adbc_driver_postgresql.dbapi as pg

    name = f"mw_bench_{uuid.uuid4().hex[:8]}"
    with pg.connect(args.server, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    uri = args.server.rsplit("/", 1)[0] + f"/{name}"
    try:
        measure(args, uri)
    finally:
        with pg.connect(args.server, autocommit=True) as con, con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(args: argparse.Namespace, uri: str) -> None:
    """Seed the database at `uri`, time the reads and the write, print the figures."""
    import pandas as pd

    from modelwatch.config import Settings
    from modelwatch.detection.score import SCORE_COLUMNS, excluded_verdict
    from modelwatch.ingest.extract import extract_hour, read_metrics
    from modelwatch.sim.fleet import DEMO_DAY, FleetSpec, simulate_fleet
    from modelwatch.sim.seed import seed
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    t0 = time.perf_counter()
    fleet = simulate_fleet(FleetSpec(n_models=args.models, days=args.days))
    t_sim = time.perf_counter() - t0
    spec = spec_from_uri(uri)
    with open_warehouse(spec, migrate=True) as wh:
        t0 = time.perf_counter()
        seed(wh, fleet)
        t_seed = time.perf_counter() - t0
        wh.execute("ANALYZE model_metrics")
    rows = len(fleet.metrics)
    del fleet
    hour = DEMO_DAY + timedelta(hours=10)
    settings = Settings()
    with open_warehouse(spec) as wh:
        t_hour, frame = timed(
            lambda: read_metrics(wh, settings.source, hour, hour + timedelta(hours=1)),
            args.repeat,
        )
        t_ex, ex = timed(lambda: extract_hour(wh, settings, hour), args.repeat)
        scores = frame[["model_id"]].drop_duplicates()
        out = [excluded_verdict(m, hour, "scored", 60) for m in scores["model_id"]]
        df = pd.DataFrame(out, columns=SCORE_COLUMNS)
        df["hour"] = df["hour"].astype("datetime64[us]")
        t_write, _ = timed(
            lambda: wh.replace("mw_scores", df, "hour = :h", {"h": hour}), args.repeat
        )
    print(
        f"fleet: {args.models} models x {args.days} days = {rows:,} rows "
        f"(simulated in {t_sim:.1f} s, loaded into PostgreSQL in {t_seed:.1f} s)"
    )
    print(f"extract one hour:            {t_hour:6.2f} s  ({len(frame):,} rows)")
    print(f"extract hour + 7-day history:{t_ex:6.2f} s  ({len(ex.rows) + len(ex.history):,} rows)")
    print(f"write {len(df):,} score rows back:  {t_write:6.2f} s  (delete + COPY + upsert)")
    print(f"(median of {args.repeat})")


if __name__ == "__main__":
    main()
