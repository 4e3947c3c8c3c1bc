"""Time the hourly detection stage on a simulated fleet, beside the naive approach.

    nice -n 10 .venv/bin/python bench/bench_detect.py [--models 1000] [--shard 50]

Naive: for every model, every hour, fit a default sklearn IsolationForest on its 7-day history
and score the hour. Ours: `detection.score.detect_models` per shard of 50 models (as the DAG's
mapped detect tasks do) with the per-model, per-day `DetectorStore`: the day's first hour fits and
saves each model's detector ("cold"), the other 23 hours load it ("warm", timed on a fresh
store, as a new task process would). The ratio printed is naive / ours over a whole day
((1 cold + 23 warm) / 24) and naive / warm. Reading the staged Parquet is left out of both.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta

import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.score import detect_models
from modelwatch.sim.fleet import DEMO_DAY, FleetSpec, simulate_fleet


def frames_for(metrics: pd.DataFrame, hour, days: int):
    """The hour's rows and the trailing history, grouped by model."""
    ts = metrics[schema.TS]
    rows = metrics[(ts >= hour) & (ts < hour + timedelta(hours=1))]
    hist = metrics[(ts >= hour - timedelta(days=days)) & (ts < hour)]
    return dict(tuple(rows.groupby(schema.MODEL_ID))), dict(tuple(hist.groupby(schema.MODEL_ID)))


def naive(rows: dict, hist: dict, models: list[str], clock: Callable[[], float]) -> float:
    from sklearn.ensemble import IsolationForest

    cols = list(schema.METRIC_NAMES)
    t0 = clock()
    for m in models:
        forest = IsolationForest(random_state=0).fit(hist[m][cols].to_numpy())
        forest.score_samples(rows[m][cols].to_numpy())
    return clock() - t0


def shard_frames(rows: dict, hist: dict, shards: list[list[str]]) -> list[tuple]:
    """Each shard's (rows, history), as the detect task reads them from the staged Parquet."""
    return [
        (shard, pd.concat([rows[m] for m in shard]), pd.concat([hist[m] for m in shard]))
        for shard in shards
    ]


def ours(frames: list[tuple], hour, cfg, store_dir, clock: Callable[[], float]) -> float:
    t0 = clock()
    for shard, r, h in frames:
        detect_models(r, h, shard, hour, cfg, store_dir=store_dir)
    return clock() - t0


def forest_table(rows: dict, hist: dict, models: list[str], hour) -> None:
    """CPU seconds per model-day to fit the day's detector (scikit-learn's IsolationForest,
    packed) and per model-hour to score the hour with the packed trees, against scoring the
    same hour with sklearn's own `score_samples` on the unpacked forest (why it is packed);
    the reference workload of `bench_nab.py` is timed alongside (machine load)."""
    import sys
    from pathlib import Path

    from sklearn.ensemble import IsolationForest

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_nab import reference_seconds

    from modelwatch.detection.score import day_detector

    day = hour.replace(hour=0)
    cfg = DetectionConfig()
    print(f"reference workload: {reference_seconds():.2f} CPU s")
    t0 = time.process_time()
    dets = {m: day_detector(m, hist[m], day, cfg)[0] for m in models}
    fit = (time.process_time() - t0) / len(models)
    t0 = time.process_time()
    for m in models:
        dets[m].hour_score(rows[m])
    packed = (time.process_time() - t0) / len(models)
    feats = {m: dets[m].features(rows[m]) for m in models}
    train = {m: dets[m].features(hist[m].iloc[:4096]) for m in models}
    forests = {
        m: IsolationForest(n_estimators=cfg.n_estimators, random_state=0).fit(train[m])
        for m in models
    }
    t0 = time.process_time()
    for m in models:
        forests[m].score_samples(feats[m])
    own = (time.process_time() - t0) / len(models)
    print(
        f"fit {fit * 1e3:7.1f} ms/model-day  score {packed * 1e3:6.2f} ms/model-hour packed, "
        f"{own * 1e3:6.2f} ms/model-hour with sklearn's score_samples"
    )
    print(f"reference workload: {reference_seconds():.2f} CPU s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--forest", action="store_true", help="only time the forest: fit, packed and own scoring"
    )
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--shard", type=int, default=50)
    ap.add_argument("--wall", action="store_true", help="time wall-clock instead of CPU")
    args = ap.parse_args()
    # Process CPU time by default: on a shared machine wall time measures the neighbours; both
    # approaches run single-threaded in this process, so their CPU seconds compare fairly.
    clock = time.perf_counter if args.wall else time.process_time
    cfg = DetectionConfig()
    t0 = time.perf_counter()
    fleet = simulate_fleet(FleetSpec(n_models=args.models, days=cfg.history_days + 1))
    print(
        f"simulated {args.models} models, {len(fleet.metrics):,} rows in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    models = sorted(fleet.metrics[schema.MODEL_ID].dropna().unique())
    shards = [models[i : i + args.shard] for i in range(0, len(models), args.shard)]
    h0 = DEMO_DAY  # the day's first hour: the store is empty
    h1 = DEMO_DAY + timedelta(hours=1)
    r0, hist0 = frames_for(fleet.metrics, h0, cfg.history_days)
    r1, hist1 = frames_for(fleet.metrics, h1, cfg.history_days)
    del fleet
    if args.forest:
        forest_table(r1, hist0, models, h1)
        return
    f0, f1 = shard_frames(r0, hist0, shards), shard_frames(r1, hist1, shards)
    with tempfile.TemporaryDirectory() as store:
        cold = ours(f0, h0, cfg, store, clock)
        warm = ours(f1, h1, cfg, store, clock)
        no_store = ours(f1[:2], h1, cfg, None, clock) * len(shards) / 2
    del f0, f1
    base = naive(r1, hist1, models, clock)
    day = (cold + 23 * warm) / 24
    unit = "wall" if args.wall else "CPU"
    print(f"times in {unit} seconds for {len(models)} models")
    print(f"naive (sklearn IF refit per model per hour): {base:7.1f} s/hour")
    print(f"ours, no store (fit every hour, est.):       {no_store:7.1f} s/hour")
    print(f"ours, first hour of the day (fit + save):    {cold:7.1f} s")
    print(f"ours, later hours (load from store):         {warm:7.1f} s/hour")
    print(f"ours, averaged over a day:                   {day:7.1f} s/hour")
    print(
        f"speed-up over naive: {base / day:.1f}x per day on average, "
        f"{base / warm:.1f}x on a warm hour, {base / cold:.1f}x on the cold hour"
    )


if __name__ == "__main__":
    main()
