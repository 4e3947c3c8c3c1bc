"""Pages from the ordinary life of a fleet: one code tree, or two compared.

Why: a fleet changes every day (deploys move latency for good, traffic steps up, models retire
and are added, some serve almost nothing) and none of that is an incident. A change to
detection or alerting should be checked for the pages it adds or removes on such a fleet, on
more than one seed, before it merges.

Simulates `--models` models (default 50, at least 19) over `--days` replayed days (14) plus a
week of history, with opt-in life events (`sim.life`) on models 10-18: deploys that move
latency for good, traffic steps, a retired model, a model added mid-day, a low-traffic model
with quiet minutes, a declared custom metric that alone drifts; the seven canonical incidents
land on the last day (models 0-6). Each code tree replays every hour through
`pipeline.runner.run_local` (scheduled mode: notify on, dry run; plots off) in its own
process, with PYTHONPATH pointing at that tree's `include/`, on its own copy of the seeded
warehouse; then one table gives, per tree, the pages of each scenario (firing or repeated
notifications sent; resolve messages are not pages), healthy models' pages per model-day and
the canonical incidents' alerts.

    nice -n 10 python bench/bench_fleet_life.py --seed 7                  # this checkout
    nice -n 10 python bench/bench_fleet_life.py --before /tmp/base/include --after include

Both trees must run hours with `pipeline.runner.run_local`. One tree alone, then the other
with `--reuse`, gives the same table. `--replay-only` is the child mode (one tree's replay);
it writes `pages.csv`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

HOUR = timedelta(hours=1)
#: The code trees a run can compare, in the table's order.
TREES = ("before", "after")
#: The checkout's own library, the tree replayed when none is given.
CHECKOUT = Path(__file__).resolve().parents[1] / "include"
#: The life events land on these models (none has an incident), so a fleet needs one more.
MIN_MODELS = 19


def events(start: datetime) -> list[tuple[str, int, datetime, float]]:
    """(kind, model, at, factor): the scenarios, on models 10..18 (none has an incident)."""
    d = lambda day, h: start + timedelta(days=day, hours=h)  # noqa: E731
    return [
        ("deploy_shift", 10, d(2, 10), 1.8),
        ("traffic_step", 11, d(3, 14), 2.0),
        ("retire", 12, d(4, 9), 1.0),
        ("add", 13, d(5, 13), 1.0),
        ("low_traffic", 14, start - timedelta(days=7), 0.03),
        ("deploy_shift", 15, d(8, 3), 2.5),
        ("traffic_step", 16, d(10, 20), 0.5),
        ("deploy_shift", 17, d(6, 16), 0.6),  # a deploy that makes latency better
        # a custom metric (gpu_util, declared by --after-settings) that alone drifts up 60 %
        ("extra_metric", 18, d(9, 10), 1.6),
    ]


def seed_warehouse(path: Path, models: int, days: int, seed: int) -> datetime:
    """Simulate the fleet with its life events into a DuckDB file; returns the first hour
    replayed."""
    from modelwatch.sim.fleet import DEMO_END, FleetSpec, simulate_fleet
    from modelwatch.sim.life import LifeEvent
    from modelwatch.sim.seed import seed as load
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    start = DEMO_END - timedelta(days=days)
    life = tuple(LifeEvent(k, m, at, f) for k, m, at, f in events(start))
    spec = FleetSpec(
        n_models=models, days=days + 7, seed=seed, extra_incident_share=0.0, events=life
    )
    # not migrated: each tree's first run migrates its own copy to the schema it knows
    with open_warehouse(spec_from_uri(f"duckdb:///{path}"), migrate=False) as wh:
        load(wh, simulate_fleet(spec))
    return start


def replay(db: Path, start: datetime, hours: int, out: Path, extra: str | None) -> None:
    """The child: every hour through run_local, then the ledger's pages to pages.csv. `extra`:
    settings (JSON) on top of plots off, for the tree that has them."""
    import json
    import logging

    logging.disable(logging.WARNING)
    from modelwatch.config import Settings
    from modelwatch.pipeline.runner import run_local
    from modelwatch.run import RunMode
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    spec = spec_from_uri(f"duckdb:///{db}")
    raw = json.loads(extra) if extra else {}
    # plots off: drawing PNGs is most of an alerting hour's cost and changes no page
    raw.setdefault("alerts", {})["plots"] = False
    settings = Settings.model_validate(raw)
    mode = RunMode("scheduled", notify=True, dry_run=True)
    t0 = time.perf_counter()
    for i in range(hours):
        run_local(start + i * HOUR, spec, settings, mode=mode, run_id=f"bench__{i}")
    with open_warehouse(spec) as wh:
        notes = wh.query(
            "SELECT n.model_id, n.alert_id, n.event, n.hour, n.state, a.kind, a.summary "
            "FROM mw_notifications n LEFT JOIN mw_alerts a ON a.alert_id = n.alert_id"
        )
    notes.to_csv(out / "pages.csv", index=False)
    print(f"replayed {hours} hours in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def pages(notes: pd.DataFrame) -> pd.DataFrame:
    """The pages among a replay's notifications: firing or repeated, sent (not resolves)."""
    import pandas as pd

    p = notes[notes["event"].isin(["firing", "repeated"]) & (notes["state"] == "sent")]
    return p.assign(hour=pd.to_datetime(p["hour"]))


def incident_pages(p: pd.DataFrame, i: int, model_id: str) -> pd.DataFrame:
    """The pages of canonical incident `i`'s model from its onset to 2 h after its end."""
    from modelwatch.sim.fleet import DEMO_DAY
    from modelwatch.sim.incidents import CANONICAL_INCIDENTS

    _, h0, h1 = CANONICAL_INCIDENTS[i]
    lo, hi = DEMO_DAY + h0 * HOUR, DEMO_DAY + (h1 + 2) * HOUR
    return p[(p["model_id"] == model_id) & (p["hour"] >= lo) & (p["hour"] <= hi)]


def table(trees: dict[str, pd.DataFrame], start: datetime, models: int, days: int):
    """Per scenario, per tree (name -> its notifications): pages and the last one's hour
    after the event; healthy models' pages per model-day; the canonical incidents' alerts."""
    import pandas as pd

    from modelwatch.sim.fleet import model_ids
    from modelwatch.sim.incidents import CANONICAL_INCIDENTS

    rows = []
    ids = model_ids(models)
    paged = {name: pages(notes) for name, notes in trees.items()}
    for kind, m, at, f in events(start):
        row = {"scenario": f"{kind} x{f:g}" if kind in ("deploy_shift", "traffic_step") else kind}
        row["model"] = ids[m]
        for name, p in paged.items():
            own = p[p["model_id"] == ids[m]]
            row[f"{name} pages"] = len(own)
            last = own["hour"].max()
            row[f"{name} last page (h after event)"] = (
                "-" if pd.isna(last) else f"{(last - pd.Timestamp(at)) / HOUR:.0f}"
            )
        rows.append(row)
    special = {ids[m] for _, m, _, _ in events(start)} | set(ids[: len(CANONICAL_INCIDENTS)])
    healthy = [x for x in ids if x not in special]
    model_days = len(healthy) * days
    for name, p in paged.items():
        n = int(p["model_id"].isin(healthy).sum())
        rows.append(
            {
                "scenario": f"healthy ({len(healthy)} models) pages/model-day ({name})",
                "model": f"{n / model_days:.3f}",
            }
        )
    for i, (kind, _, _) in enumerate(CANONICAL_INCIDENTS):
        row = {"scenario": f"incident {kind}", "model": ids[i]}
        for name, p in paged.items():
            own = incident_pages(p, i, ids[i])
            fired = own[own["event"] == "firing"]["alert_id"].nunique()
            row[f"{name} pages"] = len(own)
            row[f"{name} last page (h after event)"] = f"alerts fired: {fired}"
        rows.append(row)
    return pd.DataFrame(rows).astype(object).fillna("")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=50)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--hours", type=int, help="replay only the first hours (default: the days)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--before", help="include/ of the code before (e.g. a checkout of the base)")
    ap.add_argument("--after", help="include/ of the code after (default: this checkout's)")
    ap.add_argument("--out", default="/tmp/fleet-life-bench")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the seeded warehouse and the pages of a tree not given "
        "(e.g. rerun only --after)",
    )
    ap.add_argument(
        "--after-settings",
        default='{"source": {"extra_metrics": [{"name": "gpu_util", "unit": "fraction", '
        '"direction": "up", "min_value": 0, "max_value": 1}]}}',
        help="settings (JSON) of the after tree only (a before tree may not know them)",
    )
    ap.add_argument("--settings", help=argparse.SUPPRESS)
    ap.add_argument("--replay-only", help=argparse.SUPPRESS)
    ap.add_argument("--start", help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> None:
    ap = parser()
    args = ap.parse_args(argv)
    hours = args.hours or args.days * 24
    out = Path(args.out)
    if args.replay_only:
        start = datetime.fromisoformat(args.start)
        replay(Path(args.replay_only), start, hours, out, args.settings)
        return
    if args.models < MIN_MODELS:
        ap.error(f"--models must be at least {MIN_MODELS}: the life events are on models 10-18")
    import pandas as pd

    trees = {"before": args.before, "after": args.after}
    if not any(trees.values()):
        trees["after"] = str(CHECKOUT)
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"seed{args.seed}.duckdb"
    if base.exists() and args.reuse:
        from modelwatch.sim.fleet import DEMO_END

        start = DEMO_END - timedelta(days=args.days)
    else:
        base.unlink(missing_ok=True)
        start = seed_warehouse(base, args.models, args.days, args.seed)
    procs = {}
    for name, tree in trees.items():
        if not tree:
            continue
        folder = out / f"{name}-seed{args.seed}"
        shutil.rmtree(folder, ignore_errors=True)  # a fresh replay: no stale detectors
        folder.mkdir()
        db = folder / "w.duckdb"
        shutil.copy(base, db)
        env = {
            **os.environ,
            "PYTHONPATH": str(Path(tree).resolve()),
            "MODELWATCH_STAGING_DIR": str(folder / "staging"),
            "MODELWATCH_REPORT_DIR": str(folder / "reports"),
        }
        cmd = [
            *(sys.executable, __file__, "--replay-only", str(db), "--start", start.isoformat()),
            *("--days", str(args.days), "--hours", str(hours), "--out", str(folder)),
            *(["--settings", args.after_settings] if name == "after" else []),
        ]
        procs[name] = subprocess.Popen(cmd, env=env)
    for name, p in procs.items():
        if p.wait() != 0:
            raise SystemExit(f"the {name} replay failed")
    csv = {name: out / f"{name}-seed{args.seed}" / "pages.csv" for name in TREES}
    found = {name: pd.read_csv(path) for name, path in csv.items() if path.exists()}
    result = table(found, start, args.models, hours / 24)
    span = f"{args.days} days" if hours == args.days * 24 else f"{hours} hours"
    print(f"seed {args.seed}, {args.models} models, {span}")
    print(result.to_markdown(index=False))


if __name__ == "__main__":
    main()
