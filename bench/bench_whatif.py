"""Time a what-if shadow run: 14 simulated days of 100 models (default), on DuckDB.

Why: a shadow is only useful if "try this config on last fortnight" answers within a coffee
break on a 2-core worker (target: at most 20 minutes), and it must leave production alone.
Seeds a fresh warehouse with the fleet (7 days of history before the window), runs production
over the window's first hours so production tables hold rows, hashes every production table,
runs the shadow with per-step timings (the gate, detection, alerting, ...), hashes again, and
prints the wall time, where it went, and both hash sets.

    nice -n 10 python bench/bench_whatif.py [--models 100] [--days 14] [--config FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelwatch.warehouse import WarehouseSpec

HISTORY_DAYS = 7
#: Where a shadow hour's time goes: a line per group of steps (`run_hour`'s timings are keyed
#: by step name); steps in no group are summed as "other steps".
GROUPS: dict[str, tuple[str, ...]] = {
    "gate (extract + validate)": ("extract", "validate"),
    "detection (detect + persist)": ("detect", "persist"),
    "enrichments (logs + drift)": ("logs", "drift"),
    "alerting (route + alert)": ("route", "alert"),
    "remediation": ("remediate", "needs_approval", "record_approval", "dispatch"),
    "summary (mw_runs + report)": ("summary",),
}


def breakdown(timings: Mapping[str, float], wall: float) -> list[tuple[str, float]]:
    """(line, seconds) per group of steps, then the steps in no group, then what no step took
    (the shadow's record, silences, progress bar)."""
    grouped = {step for steps in GROUPS.values() for step in steps}
    lines = [(name, sum(timings.get(s, 0.0) for s in steps)) for name, steps in GROUPS.items()]
    rest = sorted(s for s in timings if s not in grouped)
    if rest:
        lines.append((f"other steps ({', '.join(rest)})", sum(timings[s] for s in rest)))
    lines.append(("outside the steps (record, silences, bar)", wall - sum(timings.values())))
    return lines


def production_hashes(spec: WarehouseSpec) -> dict[str, str]:
    """A digest of every table of production's schema (and of the list of them): row count
    and an order-free sum of DuckDB's row hashes, so 3 M metric rows take a second."""
    from modelwatch.warehouse import open_warehouse

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
    p.add_argument("--hours", type=int, help="shadow only this many hours (default: the days)")
    p.add_argument("--production-hours", type=int, default=3)
    p.add_argument("--config", help="the shadow's settings file (default: built-in)")
    p.add_argument("--dir", help="where the warehouse goes (default: a temporary folder)")
    args = p.parse_args(argv)
    if args.dir:
        measure(args, Path(args.dir))
        return
    with tempfile.TemporaryDirectory(prefix="bench-whatif-") as tmp:
        measure(args, Path(tmp))


def measure(args: argparse.Namespace, folder: Path) -> None:
    """Seed, run production's first hours, run the shadow, print the figures."""
    from modelwatch.config import load_settings
    from modelwatch.folders import Folders
    from modelwatch.pipeline.runner import run_local
    from modelwatch.pipeline.whatif import run_shadow
    from modelwatch.sim.fleet import DEMO_END, FleetSpec, simulate_fleet
    from modelwatch.sim.seed import seed
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    spec = spec_from_uri(f"duckdb:///{folder}/warehouse.duckdb")
    folders = Folders(folder / "staging", folder / "reports")  # never the deployment's own
    t0 = time.perf_counter()
    fleet = simulate_fleet(
        FleetSpec(n_models=args.models, days=args.days + HISTORY_DAYS, end=DEMO_END)
    )
    with open_warehouse(spec, migrate=True) as wh:
        seed(wh, fleet)
    print(f"seeded {len(fleet.metrics):,} rows in {time.perf_counter() - t0:.1f} s")

    settings = load_settings(args.config)
    start = DEMO_END - timedelta(days=args.days)
    end = start + timedelta(hours=args.hours) if args.hours else DEMO_END
    production = load_settings(None)
    for i in range(args.production_hours):
        hour = start + timedelta(hours=i)
        run_local(hour, spec, production, dispatch=False, folders=folders)
    before = production_hashes(spec)

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    got = run_shadow(spec, settings, "bench", start, end, timings=timings, folders=folders)
    wall = time.perf_counter() - t0
    after = production_hashes(spec)

    hours = got["hours_run"]
    print(
        f"shadow: {args.models} models x {hours} hours in {wall:.0f} s "
        f"({wall / 60:.1f} min, {wall / max(hours, 1):.2f} s per hour)"
    )
    for name, secs in breakdown(timings, wall):
        print(f"  {name:42s} {secs:8.1f} s  {100 * secs / wall:5.1f} %")
    print("production tables (sha256 prefix)   before            after")
    for t in sorted(set(before) | set(after)):
        same = "same" if before.get(t) == after.get(t) else "CHANGED"
        print(f"  {t:32s} {before.get(t, '-'):16s}  {after.get(t, '-'):16s}  {same}")
    print("production unchanged" if before == after else "PRODUCTION CHANGED")


if __name__ == "__main__":
    main()
