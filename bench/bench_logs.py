"""Time the hourly log mining of a large fleet: 1,000 models x 100 lines = 100,000 lines.

    nice -n 10 .venv/bin/python bench/bench_logs.py [--models 1000] [--lines 100]

The lines are the simulator's (background chatter of every model, plus an error burst, GC
growth and upstream timeouts on a few), loaded into a DuckDB `model_logs` table with one
baseline day before the hour. Timed separately: learning the day's templates (the daily
training pass, once a day) and mining the hour (`logs.step.mine_hour`: read, clean, mask,
match, count, write), then a rerun of the hour (reads the marker, mines nothing).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from modelwatch.config import LogsConfig, Settings
from modelwatch.logs.step import mine_hour, train_day
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.sim.loglines import Burst, model_lines
from modelwatch.sim.seed import STORY_DDL
from modelwatch.warehouse import open_warehouse, spec_from_uri


def lines(models: int, per_hour: float, hours: int, start) -> pd.DataFrame:
    rows = []
    for i in range(models):
        g = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(i,)))
        m = f"model-{i:04d}"
        bursts = []
        if i % 100 == 1:
            bursts.append(
                Burst(
                    start + timedelta(hours=hours - 1),
                    start + timedelta(hours=hours),
                    "ERROR",
                    "serving",
                    "bad_category",
                    50.0,
                )
            )
        if i % 100 == 2:
            bursts.append(
                Burst(
                    start,
                    start + timedelta(hours=hours),
                    "ERROR",
                    "client",
                    "timeout",
                    20.0,
                    arg="feature-store-eu",
                )
            )
        for ts, lvl, logger, msg in model_lines(
            g, m, start, hours, per_hour, ["redis-sessions"], bursts, {}, []
        ):
            rows.append((ts, m, lvl, msg, logger, None))
    return pd.DataFrame(rows, columns=["ts", "model_id", "level", "message", "logger", "trace_id"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", type=int, default=1000)
    p.add_argument("--lines", type=float, default=100.0)
    p.add_argument("--baseline-models", type=int, default=200)
    args = p.parse_args()
    hour = DEMO_DAY + timedelta(hours=17)
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        spec = spec_from_uri(f"duckdb:///{Path(tmp) / 'w.duckdb'}")
        base = lines(args.baseline_models, args.lines / 4, 24, DEMO_DAY - timedelta(days=1))
        now = lines(args.models, args.lines, 1, hour)
        settings = Settings(logs=LogsConfig(baseline_days=1))
        with open_warehouse(spec, migrate=True) as wh:
            for ddl in STORY_DDL:
                wh.execute(ddl)
            wh.insert("model_logs", pd.concat([base, now], ignore_index=True))
            t0 = time.perf_counter()
            trained = train_day(wh, settings, DEMO_DAY)
            t_train = time.perf_counter() - t0
            t0 = time.perf_counter()
            got = mine_hour(wh, settings, hour, None, "bench")
            t_mine = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = mine_hour(wh, settings, hour, None, "bench-rerun")
            t_rerun = time.perf_counter() - t0
    print(
        f"training: {trained['templates']} templates from {trained['lines']:,} lines "
        f"in {t_train:.1f} s"
    )
    print(
        f"mining {got['lines']:,} lines of {args.models} models' hour: {t_mine:.1f} s "
        f"({got['matched']:,} matched, {got['unmatched']:,} unmatched, {got['skipped']} skipped)"
    )
    print(f"rerun of the hour: {t_rerun:.2f} s (mined before: {again['mined_before']})")


if __name__ == "__main__":
    main()
