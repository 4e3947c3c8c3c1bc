"""Prediction drift: false drift alerts per model-day, and the time of one 1,000-model hour.

Why: drift alerts must be rare on healthy models (a page nobody can act on teaches people to
ignore the kind), including on days with surges and deploys, and the hourly drift task must
stay a small part of the hour on a 2-core worker.

Part 1 simulates `--models` models over `--days` days (plus the reference week) with
predictions, every model beyond the canonical seven given an incident on the last day
(surges, deploys, leaks, mean drifts), runs the drift step's library code hour by hour on an
embedded warehouse (findings stored, so references leave drifted hours out as in production),
rebuilds the drift alerts with the alert rule, and prints the false ones per model-day (a
drift alert on a model without a drift incident) and how soon each drift incident alerted.

Part 2 times the drift step (`pipeline.steps.drift`) for one hour of `--speed-models`
models at `--speed-samples` predictions each, with the day's reference sketches cached (every
hour but the day's first).

    nice -n 10 python bench/bench_drift.py [--only false|speed]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelwatch.config import Settings


def false_alerts(models: int, days: int, samples: int, settings: Settings, folder: Path) -> None:
    """Part 1: drift findings hour by hour over a simulated fleet, the alerts they make."""
    import pandas as pd

    from modelwatch.alerting import lifecycle
    from modelwatch.drift.findings import drift_signal_rows
    from modelwatch.drift.tables import write_drift_hour
    from modelwatch.run import HOUR
    from modelwatch.sim.fleet import DEMO_END, FleetSpec, simulate_fleet
    from modelwatch.sim.seed import seed
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    spec = FleetSpec(
        n_models=models, days=days + settings.drift.reference_days, predictions=samples,
        extra_incident_share=1.0,
    )  # fmt: skip
    fleet = simulate_fleet(spec)
    wh_spec = spec_from_uri(f"duckdb:///{folder}/false.duckdb")
    start = DEMO_END - timedelta(days=days)
    t0 = time.perf_counter()
    with open_warehouse(wh_spec, migrate=True) as wh:
        seed(wh, fleet)
        h = start
        while h < DEMO_END:
            write_drift_hour(wh, settings.drift, h, None, full=True)
            h += HOUR
        ids = fleet.models["model_id"].tolist()
        rows = drift_signal_rows(wh, ids, start)
        tested = int(wh.query("SELECT COUNT(DISTINCT model_id) AS n FROM mw_drift")["n"].iloc[0])
    signals = [
        lifecycle.Signal(
            r.model_id, pd.Timestamp(r.hour).to_pydatetime(), lifecycle.DRIFT, None, ""
        )
        for r in rows.itertuples(index=False)
    ]
    episodes = lifecycle.build_episodes(signals, start, DEMO_END - HOUR, settings.alerts)
    inc = fleet.incidents
    drifting = inc[inc["kind"].str.contains("drift")].set_index("model_id")
    false = [e for e in episodes if e.model_id not in drifting.index]
    incident_day = DEMO_END - timedelta(days=1)
    print(
        f"false drift alerts: {len(false)} over {models} models x {days} days = "
        f"{len(false) / (models * days):.4f} per model-day ({tested} models tested, "
        f"{sum(e.opened_hour >= incident_day for e in false)} on the incident day with "
        f"{(inc['kind'] == 'traffic_surge').sum()} surges and "
        f"{inc['kind'].isin(['latency_regression', 'error_burst']).sum()} deploys); "
        f"{len(rows)} drifted model-hours; {time.perf_counter() - t0:.0f} s"
    )
    for m, r in drifting.iterrows():
        opened = [e.opened_hour for e in episodes if e.model_id == m]
        late = f"{(opened[0] - r['start']) / HOUR:+.0f} h" if opened else "missed"
        print(f"  {m} {r['kind']} from {r['start']:%H:00}: drift alert {late}")


def speed(models: int, samples: int, settings: Settings, folder: Path) -> None:
    """Part 2: one drift step of a large fleet, its references already built."""
    import numpy as np
    import pandas as pd

    from modelwatch.drift import stats
    from modelwatch.drift.reference import BUILT, BUILT_HOUR, reference_label
    from modelwatch.folders import Folders
    from modelwatch.pipeline import steps
    from modelwatch.run import build_run
    from modelwatch.sim.fleet import DEMO_END
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    rng = np.random.default_rng(0)
    hour = DEMO_END - timedelta(hours=10)
    day = hour.replace(hour=0)
    ids = [f"model-{i:04d}" for i in range(models)]
    centre = rng.uniform(0.1, 0.8, models)
    cfg = settings.drift
    sketches = []
    for i, m in enumerate(ids):
        ref = rng.normal(centre[i], 0.05, 7 * samples)
        body = stats.quantile_sketch(ref, cfg.sketch_quantiles)
        label = reference_label(cfg, m, day)
        sketches += [(m, "prediction", h, label, len(ref), json.dumps(body)) for h in range(24)] + [
            (m, BUILT, BUILT_HOUR, label, 0, "{}")
        ]
    refs = pd.DataFrame(
        sketches, columns=["model_id", "feature", "hour_of_day", "reference", "n", "sketch"]
    ).assign(day=pd.Timestamp(day))
    n = models * samples
    offsets = pd.to_timedelta(np.tile(np.arange(samples) * 3600 / samples, models), "s")
    preds = pd.DataFrame(
        {
            "ts": pd.Timestamp(hour) + offsets,
            "model_id": np.repeat(ids, samples),
            "prediction": rng.normal(np.repeat(centre, samples), 0.05),
        }
    )
    wh_spec = spec_from_uri(f"duckdb:///{folder}/speed.duckdb")
    with open_warehouse(wh_spec, migrate=True) as wh:
        wh.execute(
            "CREATE TABLE model_predictions (ts TIMESTAMP, model_id VARCHAR, "
            "prediction DOUBLE PRECISION)"
        )
        wh.insert("model_predictions", preds)
        wh.insert("mw_drift_reference", refs)
    folders = Folders(folder / "staging", folder / "reports")
    run = build_run(hour, settings, wh_spec, folders, run_id="bench")
    t0 = time.perf_counter()
    out = steps.drift(run, {"validate": [ids]})
    seconds = time.perf_counter() - t0
    print(
        f"drift step: {models} models x {samples} predictions ({n:,} rows), references cached: "
        f"{seconds:.2f} s ({out['tested']} tested, {len(out['drifted'])} drifted)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--samples", type=int, default=240, help="predictions per model-hour")
    parser.add_argument("--speed-models", type=int, default=1000)
    parser.add_argument("--speed-samples", type=int, default=1000)
    parser.add_argument("--only", choices=["false", "speed"], default=None)
    args = parser.parse_args(argv)
    from modelwatch.config import Settings

    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "speed":
            false_alerts(args.models, args.days, args.samples, settings, Path(tmp))
        if args.only != "false":
            speed(args.speed_models, args.speed_samples, settings, Path(tmp))


if __name__ == "__main__":
    main()
