"""Time a what-if shadow run: 14 simulated days of 100 models (default), on DuckDB.

Why: a shadow is only useful if "try this config on last fortnight" answers within a coffee
break on the 2-core worker (target: at most 20 minutes), and it must leave production alone.
Seeds a fresh warehouse with the fleet (7 days of history before the window), runs production
over the window's first hours so production tables hold rows, hashes every production table,
runs the shadow with per-step timings (the gate, detection, alerting, ...), hashes again, and
prints the wall time, where it went, and both hash sets.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "include"))

from modelwatch.config import load_settings
from modelwatch.pipeline.runner import run_local
from modelwatch.pipeline.whatif import run_shadow
from modelwatch.sim.fleet import DEMO_END, FleetSpec, simulate_fleet
from modelwatch.sim.seed import seed
from modelwatch.warehouse import WarehouseSpec, open_warehouse, spec_from_uri

HISTORY_DAYS = 7


def production_hashes(spec: WarehouseSpec) -> dict[str, str]:
    """A digest of every table of production's schema (and of the list of them): row count
    and an order-free sum of DuckDB's row hashes, so 3 M metric rows take a second."""
    with open_warehouse(spec) as wh:
        home = str(wh.query("SELECT current_schema() AS s")["s"].iloc[0])
        names = wh.schema_tables(home)
        out = {"(tables)": hashlib.sha256(",".join(names).encode()).hexdigest()[:16]}
        for t in names:
            got = wh.query(f'SELECT COUNT(*) AS n, SUM(hash(x)) AS h FROM "{t}" x').iloc[0]
            out[t] = hashlib.sha256(f"{got['n']}:{got['h']}".encode()).hexdigest()[:16]
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=int, default=100)
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--production-hours", type=int, default=3)
    p.add_argument("--config", help="the shadow's settings file (default: built-in)")
    p.add_argument("--dir", help="where the warehouse goes (default: a temporary folder)")
    args = p.parse_args(argv)

    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench-whatif-"))
    spec = spec_from_uri(f"duckdb:///{folder}/warehouse.duckdb")
    t0 = time.perf_counter()
    fleet = simulate_fleet(
        FleetSpec(n_models=args.models, days=args.days + HISTORY_DAYS, end=DEMO_END)
    )
    with open_warehouse(spec, migrate=True) as wh:
        seed(wh, fleet)
    print(f"seeded {len(fleet.metrics):,} rows in {time.perf_counter() - t0:.1f} s")

    settings = load_settings(args.config)
    end = DEMO_END
    start = end - timedelta(days=args.days)
    for i in range(args.production_hours):
        run_local(start + timedelta(hours=i), spec, load_settings(None), dispatch=False)
    before = production_hashes(spec)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    got = run_shadow(spec, settings, "bench", start, end, timings=timings)
    wall = time.perf_counter() - t0
    after = production_hashes(spec)

    hours = got["hours_run"]
    print(
        f"shadow: {args.models} models x {args.days} days = {hours} hours in {wall:.0f} s "
        f"({wall / 60:.1f} min, {wall / max(hours, 1):.2f} s per hour)"
    )
    steps = {"gate (extract + validate)": timings.get("extract", 0) + timings.get("validate", 0)}
    steps |= {
        "detection (detect + persist)": timings.get("detect", 0),
        "alerting (route + alert)": timings.get("route", 0) + timings.get("alert", 0),
        "remediation": timings.get("remediate", 0),
        "summary (mw_runs + report)": timings.get("summary", 0),
    }
    other = wall - sum(timings.values())
    for name, secs in [*steps.items(), ("other (record, silences, bar)", other)]:
        print(f"  {name:32s} {secs:8.1f} s  {100 * secs / wall:5.1f} %")
    print("production tables (sha256 prefix)   before            after")
    for t in sorted(set(before) | set(after)):
        same = "same" if before.get(t) == after.get(t) else "CHANGED"
        print(f"  {t:32s} {before.get(t, '-'):16s}  {after.get(t, '-'):16s}  {same}")
    print("production unchanged" if before == after else "PRODUCTION CHANGED")


if __name__ == "__main__":
    main()
