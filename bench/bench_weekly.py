"""Does weekly seasonality help? Pages on healthy models with daily vs weekly baselines.

Issue #16 item 6: keep a level per (day of week, hour) where a model has two weeks of history,
and measure it before making it the default. The library keeps 24 hour-of-day levels
(`features.SeasonalBaseline`); this benchmark swaps in two variants for its own replays only:

- `weekend`: 48 slots, (Saturday or Sunday, hour): the weekend dip learnt, not tolerated;
- `week`:   168 slots, (day of week, hour): each slot from two days of a 14-day history.

Each variant replays `--days` days (default 7, ending on the demo's incident day, a Sunday)
of `--models` models (30) through `pipeline.local.run_hour` (notify on, dry run) in its own
process, with `history_days` 14 (so every weekly slot holds two days); `daily@7` is the
default detector as it ships. Printed: pages per healthy model-day (firing or repeated
notifications sent; resolves are not pages) and whether each canonical incident paged.

    PYTHONPATH=include python bench/bench_weekly.py --seed 31 --out /tmp/weekly
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: variant -> (baseline slots, history_days)
VARIANTS: dict[str, tuple[str, int]] = {
    "daily@7": ("daily", 7),
    "daily@14": ("daily", 14),
    "weekend@14": ("weekend", 14),
    "week@14": ("week", 14),
}


def patch_baseline(kind: str) -> None:
    """Make every detector fitted in this process use `kind`'s slots."""
    from modelwatch.detection import detector
    from modelwatch.detection.features import SeasonalBaseline

    if kind == "daily":
        return

    class Weekly(SeasonalBaseline):
        SLOTS = 48 if kind == "weekend" else 168

        def slots(self, ts: pd.Series) -> np.ndarray:
            day = ts.dt.day_of_week.to_numpy()
            return ts.dt.hour.to_numpy() + 24 * ((day >= 5) if kind == "weekend" else day)

    Weekly.__qualname__ = Weekly.__name__ = f"{kind.title()}Baseline"
    globals()[Weekly.__name__] = Weekly  # picklable by the detector store in this process
    detector.SeasonalBaseline = Weekly


def seed_warehouse(path: Path, models: int, days: int, seed: int) -> None:
    from modelwatch.sim.fleet import FleetSpec, simulate_fleet
    from modelwatch.sim.seed import seed as load
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    fleet = simulate_fleet(
        FleetSpec(n_models=models, days=days + 14, seed=seed, extra_incident_share=0.0)
    )
    with open_warehouse(spec_from_uri(f"duckdb:///{path}"), migrate=False) as wh:
        load(wh, fleet)


def summary(notes: pd.DataFrame, models: int, days: int) -> dict[str, str]:
    """Pages per healthy model-day, and how many canonical incidents fired (as the fleet-life
    benchmark counts them)."""
    from bench_fleet_life import incident_pages, pages

    from modelwatch.sim.fleet import model_ids
    from modelwatch.sim.incidents import CANONICAL_INCIDENTS

    p = pages(notes)
    ids = model_ids(models)
    healthy = ids[len(CANONICAL_INCIDENTS) :]
    per_day = p["model_id"].isin(healthy).sum() / (len(healthy) * days)
    row = {"healthy pages/model-day": f"{per_day:.4f}"}
    paged = 0
    for i in range(len(CANONICAL_INCIDENTS)):
        own = incident_pages(p, i, ids[i])
        paged += int((own["event"] == "firing").any())
    row["incidents paged"] = f"{paged}/{len(CANONICAL_INCIDENTS)}"
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=30)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="/tmp/weekly-bench")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # variant, folder
    args = ap.parse_args(argv)
    from modelwatch.sim.fleet import DEMO_END

    start = DEMO_END - timedelta(days=args.days)
    if args.child:
        from bench_fleet_life import replay

        name, folder = args.child
        kind, history = VARIANTS[name]
        patch_baseline(kind)
        settings = json.dumps({"detection": {"history_days": history}})
        replay(Path(folder) / "w.duckdb", start, args.days, Path(folder), settings)
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = out / f"seed{args.seed}.duckdb"
    base.unlink(missing_ok=True)
    seed_warehouse(base, args.models, args.days, args.seed)
    names = args.variants.split(",")
    running: list[subprocess.Popen] = []
    for name in names:
        folder = out / f"{name}-seed{args.seed}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        shutil.copy(base, folder / "w.duckdb")
        env = {**os.environ, "MODELWATCH_STAGING_DIR": str(folder / "staging")}
        cmd = [sys.executable, __file__, "--seed", str(args.seed), "--days", str(args.days)]
        running.append(subprocess.Popen([*cmd, "--child", name, str(folder)], env=env))
        while sum(p.poll() is None for p in running) >= args.jobs:
            running[next(i for i, p in enumerate(running) if p.poll() is None)].wait()
    if any(p.wait() != 0 for p in running):
        raise SystemExit("a replay failed")
    rows = []
    for name in names:
        notes = pd.read_csv(out / f"{name}-seed{args.seed}" / "pages.csv")
        rows.append({"variant": name, **summary(notes, args.models, args.days)})
    print(f"seed {args.seed}, {args.models} models, {args.days} replayed days")
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()
