"""Replay history through the detector, causally, as if it had run hour by hour.

Why: to study and benchmark detection (NAB, simulated incidents, backfills of the warehouse)
with the very functions the DAG's detect task uses (`detector.fit_detector`, `Detector.row_tail`,
`Detector.hour_score`), not a second implementation.

Causality: the rows of calendar hour h are scored by a detector fitted only on rows before h.
A forest is not refitted every hour (too slow for long replays): it is refitted when it is
`refit_hours` old, or when the usable history has grown by `refit_growth` since the last fit
(so a young series gets better forests quickly). Rows seen as anomalous are left out of later
fits unless they have become a large share of the window (a new normal).

Input with our serving schema (all of `schema.METRIC_NAMES`) is replayed exactly as the DAG
decides: one score per calendar hour (the tail of its median minute) given to each of its rows,
and a detection on the hour's last row when the score reaches `threshold`. Any other input gets
the per-row score stream (`stream.stream_scores`), which can fire within the hour.

Rows before the first fit (cold start: under `min_history_hours` of span or `min_train_rows`
rows) get score 0 and no explanation: the detector has no opinion yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.detector import (
    Detector,
    fit_detector,
    metric_columns,
    schema_columns,
)
from modelwatch.detection.explain import MetricExplanation, explanation_json
from modelwatch.detection.features import clean_training_rows
from modelwatch.detection.stream import StreamState, stream_scores

OUTPUT_COLUMNS = ["model_id", "ts", "score", "is_anomaly", "explanation"]


@dataclass(frozen=True)
class Segment:
    """Rows [start, stop) of a sorted series scored by one forest fitted on rows [0, start)."""

    start: int
    stop: int


def fit_schedule(ts: np.ndarray, cfg: DetectionConfig) -> list[Segment]:
    """Where to refit, from timestamps alone (sorted): at an hour boundary, once enough
    history exists, then whenever the forest is `refit_hours` old and at least `refit_rows`
    rows have arrived since (so an hourly series is not refitted every 24 rows, which costs
    as much as refitting a five-minute one and teaches it almost nothing new), or when the
    history grew by `refit_growth` (the growth rule stops once the training window is full)."""
    ts = pd.to_datetime(ts)
    hours = ts.floor("h")
    bounds = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
    fits: list[int] = []
    last_time, last_n = None, 0
    first = ts[0] if len(ts) else None
    for b in bounds:
        h = hours[b]
        if last_time is None:
            span_ok = (h - first) >= pd.Timedelta(hours=cfg.min_history_hours)
            ok = span_ok and b >= cfg.min_train_rows
        else:
            old = (h - last_time) >= pd.Timedelta(hours=cfg.refit_hours)
            old &= b - last_n >= cfg.refit_rows
            grew = last_n < cfg.max_train_rows and b >= cfg.refit_growth * last_n
            ok = old or grew
        if ok:
            fits.append(int(b))
            last_time, last_n = h, int(b)
    if not fits:  # never enough history: every row stays at "no opinion"
        return []
    stops = [*fits[1:], len(ts)]
    return [Segment(a, z) for a, z in zip(fits, stops, strict=True)]


def training_rows(
    series: pd.DataFrame, start: int, anomalous: np.ndarray, cfg: DetectionConfig
) -> pd.DataFrame:
    """The rows a fit at row `start` learns from: the latest `max_train_rows`-ish rows before
    it, without the anomalous ones unless those dominate (then they are the new normal)."""
    lo = max(0, start - 2 * cfg.max_train_rows)
    window = series.iloc[lo:start]
    bad = anomalous[lo:start]
    if 0 < bad.mean() <= cfg.max_excluded_share:
        window = window[~bad]
    return window


def explain_rows(detector: Detector, frame: pd.DataFrame, top_k: int) -> list[str]:
    """Per row: the top metrics by robust z against the training baseline, as JSON."""
    x = frame[list(detector.metrics)].to_numpy(dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 against a tiny scale: inf
        z = (x - detector.center) / detector.scale
    order = np.argsort(-np.abs(np.nan_to_num(z)), axis=1)[:, :top_k]
    names, center = detector.metrics, detector.center
    return [
        explanation_json(
            MetricExplanation(names[j], float(xs[j]), float(center[j]), float(zs[j])) for j in row
        )
        for row, zs, xs in zip(order, z, x, strict=True)
    ]


def hourly_verdicts(
    det: Detector, rows: pd.DataFrame, cfg: DetectionConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Our serving schema is replayed as the DAG decides it: per calendar hour, the hour's score
    (`Detector.hour_score`: the tail of its median minute) for every row of the hour, and a
    detection (score >= `threshold`) on the hour's last row, when the DAG would know it."""
    hours = rows[schema.TS].dt.floor("h").to_numpy()
    tails = det.row_tail(rows)
    per_hour = pd.Series(tails).groupby(hours).median()
    score = per_hour.reindex(hours).to_numpy()
    last = np.r_[hours[1:] != hours[:-1], True]
    anomalous = score >= cfg.threshold
    return score, anomalous & last, anomalous


def replay_series(
    series: pd.DataFrame, cfg: DetectionConfig, model_id: str, metrics: list[str] | None = None
) -> pd.DataFrame:
    """Replay one model's rows (sorted by ts); returns score, is_anomaly, explanation aligned
    with `series`."""
    n = len(series)
    score = np.zeros(n)
    fired = np.zeros(n, dtype=bool)
    anomalous = np.zeros(n, dtype=bool)
    explanation = ["[]"] * n
    ts = series[schema.TS].to_numpy()
    state = StreamState()
    for seg in fit_schedule(ts, cfg):
        train = training_rows(series, seg.start, anomalous, cfg)
        if metrics is None:  # the DAG's schema: bad rows never teach the detector
            train, _ = clean_training_rows(train)
        det = fit_detector(train, cfg, model_id, metrics, pd.Timestamp(ts[seg.start]))
        if det.baseline is not None:
            s, f, a = hourly_verdicts(det, series.iloc[seg.start : seg.stop], cfg)
        else:
            ctx = max(0, seg.start - det.context_rows)
            frame = series.iloc[ctx : seg.stop]
            lt = det.row_log_tail(frame, seg.start - ctx, cfg.beyond_gain)
            s, f, a = stream_scores(lt, state, cfg, det.pooled_ref)
        score[seg.start : seg.stop] = s
        fired[seg.start : seg.stop] = f
        anomalous[seg.start : seg.stop] = a
        rows = series.iloc[seg.start : seg.stop]
        explanation[seg.start : seg.stop] = explain_rows(det, rows, cfg.top_k)
    return pd.DataFrame(
        {"score": score, "is_anomaly": fired, "explanation": explanation}, index=series.index
    )


def _replay_one(
    model_id: str, series: pd.DataFrame, cfg: DetectionConfig, metrics: list[str] | None
) -> pd.DataFrame:
    """Sort one model's rows by time (stably: repeated timestamps keep input order), replay."""
    ordered = series.sort_values(schema.TS, kind="mergesort")
    return replay_series(ordered, cfg, model_id, metrics)


def normalise_input(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str] | None]:
    """Check the replay input and pick its metrics: our schema's if present (the DAG's
    features), else every numeric column. Aware timestamps are converted to naive UTC."""
    missing = [c for c in (schema.MODEL_ID, schema.TS) if c not in frame.columns]
    if missing:
        raise ValueError(f"replay input lacks column(s) {', '.join(missing)}")
    metrics = metric_columns(frame)
    if not metrics:
        raise ValueError("replay input has no numeric metric column")
    ts = pd.to_datetime(frame[schema.TS])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    frame = frame.assign(**{schema.TS: ts}).reset_index(drop=True)
    return frame, (None if schema_columns(frame) else metrics)


def replay(
    frame: pd.DataFrame,
    cfg: DetectionConfig,
    n_jobs: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """Score every row of `frame` (model_id, ts, metrics...) causally; one output row per
    input row, in input order: model_id, ts, score, is_anomaly, explanation.

    Models are independent, so with `n_jobs` > 1 they are replayed in parallel processes.
    """
    frame, metrics = normalise_input(frame)
    groups = list(frame.groupby(schema.MODEL_ID, sort=False))
    jobs = _progress(groups, progress, len(groups))
    if n_jobs == 1:
        parts = [_replay_one(str(m), g, cfg, metrics) for m, g in jobs]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_replay_one)(str(m), g, cfg, metrics) for m, g in groups
        )
        parts = list(_progress(parts, progress, len(groups)))
    scored = pd.concat(parts).reindex(frame.index) if parts else None
    out = frame[[schema.MODEL_ID, schema.TS]].copy()
    if scored is None:
        return out.assign(score=0.0, is_anomaly=False, explanation="[]")[OUTPUT_COLUMNS]
    out["score"] = scored["score"].to_numpy()
    out["is_anomaly"] = scored["is_anomaly"].to_numpy(dtype=bool)
    out["explanation"] = scored["explanation"].to_numpy()
    return out[OUTPUT_COLUMNS]


def _progress(items: Iterable, on: bool, total: int) -> Iterable:
    """A tqdm bar over models when asked (long replays), else the items as they are."""
    if not on:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, unit="model", desc="replay")


# --------------------------------------------------------------------------------------- I/O
def read_table(path: str) -> pd.DataFrame:
    """A Parquet or CSV file, by extension."""
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".csv"):
        return pd.read_csv(path)
    raise ValueError(f"{path}: expected a .parquet or .csv file")


def write_table(frame: pd.DataFrame, path: str) -> None:
    """Write Parquet or CSV, by extension."""
    if path.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif path.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        raise ValueError(f"{path}: expected a .parquet or .csv file")


def read_warehouse(
    conn: str, start: datetime, end: datetime, models: list[str] | None = None, settings=None
) -> pd.DataFrame:
    """Metrics with start <= ts < end from the warehouse (a connection id or URI), with the
    source table and column mapping of the settings, for backfill studies."""
    from modelwatch.config import Settings
    from modelwatch.ingest.extract import read_metrics
    from modelwatch.warehouse import open_warehouse, spec_from_uri, warehouse_spec

    settings = settings or Settings()
    spec = spec_from_uri(conn) if "://" in conn else warehouse_spec(conn)
    with open_warehouse(spec) as wh:
        return read_metrics(wh, settings.source, start, end, models)
