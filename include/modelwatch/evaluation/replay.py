"""Replay series row by row through the detector's stream, causally.

Why: to study and benchmark the detector on series that are not our serving schema (NAB's
single `value`, any numeric columns): the per-row stream of `detection.stream`, which shares
the forest (`forest.fit_forest`) and the calibration (`detector.empirical_log_tail`) with the
hourly detector, and can fire within the hour. Our serving schema is replayed through the
hourly pipeline itself (`pipeline.replay`); `verdicts_to_rows` spreads its hourly verdicts over
the rows. Also the table I/O the replay and evaluation commands share.

Rows that are not scored (cold start, too little history, quarantined) get score 0 and an
empty explanation: no opinion.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.detector import metric_columns, robust_center_scale, schema_columns
from modelwatch.detection.explain import explanation_json_rows
from modelwatch.detection.forest import model_seed
from modelwatch.detection.stream import stream_series
from modelwatch.timestamps import naive_utc_columns

OUTPUT_COLUMNS = ["model_id", "ts", "score", "is_anomaly", "explanation"]


# ------------------------------------------------------------------------- generic series
def explain_rows(names: list[str], train: np.ndarray, rows: np.ndarray, top_k: int) -> list[str]:
    """Per row: the top metrics by robust z against the training rows, as JSON."""
    center, scale = robust_center_scale(train)
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 against a tiny scale: inf
        z = (rows - center) / scale
    order = np.argsort(-np.abs(np.nan_to_num(z)), axis=1)[:, :top_k]
    return explanation_json_rows(names, order, rows, center, z)


def replay_series(
    series: pd.DataFrame, cfg: DetectionConfig, model_id: str, metrics: list[str]
) -> pd.DataFrame:
    """Replay one model's rows (sorted by ts) through the per-row stream; returns score,
    is_anomaly, explanation aligned with `series`."""
    values = series[metrics].to_numpy(dtype=float)
    score, fired, segments = stream_series(
        values, series[schema.TS].to_numpy(), cfg, model_seed(model_id, cfg.seed)
    )
    explanation = ["[]"] * len(series)
    for seg, train in segments:
        rows = values[seg.start : seg.stop]
        explanation[seg.start : seg.stop] = explain_rows(metrics, train, rows, cfg.top_k)
    return pd.DataFrame(
        {"score": score, "is_anomaly": fired, "explanation": explanation}, index=series.index
    )


def _replay_one(
    model_id: str, series: pd.DataFrame, cfg: DetectionConfig, metrics: list[str]
) -> pd.DataFrame:
    """Sort one model's rows by time (stably: repeated timestamps keep input order), replay."""
    ordered = series.sort_values(schema.TS, kind="mergesort")
    return replay_series(ordered, cfg, model_id, metrics)


# ------------------------------------------------------------------ hourly verdicts
def verdicts_to_rows(frame: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Spread hourly verdicts over their rows: each row gets its hour's score and explanation,
    the hour's last row its detection; rows of hours not scored get 0 and "[]"."""
    hour = frame[schema.TS].dt.floor("h")
    scored = verdicts[verdicts["status"] == "scored"].set_index(["model_id", "hour"])
    key = pd.MultiIndex.from_arrays([frame[schema.MODEL_ID].astype(str), hour])
    score = scored["score"].astype(float).reindex(key).to_numpy()
    flag = scored["is_anomaly"].astype(bool).reindex(key).fillna(False).to_numpy(dtype=bool)
    why = scored["explanation"].reindex(key).fillna("[]").to_numpy()
    order = frame.assign(_h=hour).sort_values(schema.TS, kind="mergesort")
    last = ~order.duplicated([schema.MODEL_ID, "_h"], keep="last")
    is_last = last.reindex(frame.index).to_numpy(dtype=bool)
    out = frame[[schema.MODEL_ID, schema.TS]].copy()
    out["score"] = np.nan_to_num(score, nan=0.0)
    out["is_anomaly"] = flag & is_last
    out["explanation"] = why
    return out[OUTPUT_COLUMNS]


# ----------------------------------------------------------------------------------- entry
def normalise_input(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str] | None]:
    """Check the replay input and pick its metrics: our schema's if present (the DAG's
    features), else every numeric column. Aware timestamps are converted to naive UTC."""
    missing = [c for c in (schema.MODEL_ID, schema.TS) if c not in frame.columns]
    if missing:
        raise ValueError(f"replay input lacks column(s) {', '.join(missing)}")
    metrics = metric_columns(frame)
    if not metrics:
        raise ValueError("replay input has no numeric metric column")
    frame = naive_utc_columns(frame, [schema.TS]).reset_index(drop=True)
    return frame, (None if schema_columns(frame) else metrics)


def replay(
    frame: pd.DataFrame,
    cfg: DetectionConfig,
    n_jobs: int = 1,
    progress: bool = False,
) -> pd.DataFrame:
    """Score every row of `frame` (model_id, ts, metrics...) causally; one output row per
    input row, in input order: model_id, ts, score, is_anomaly, explanation.

    Series are independent, so with `n_jobs` > 1 they are replayed in parallel processes.
    Our serving schema is replayed through the hourly pipeline instead
    (`pipeline.replay.replay_frame`): this refuses it.
    """
    frame, metrics = normalise_input(frame)
    if metrics is None:
        raise ValueError(
            "replay input has our serving schema: replay it through the hourly pipeline "
            "(modelwatch replay, pipeline.replay.replay_frame)"
        )
    groups = list(frame.groupby(schema.MODEL_ID, sort=False))
    jobs = _progress(groups, progress, len(groups))
    if n_jobs == 1:
        parts = [_replay_one(str(m), g, cfg, metrics) for m, g in jobs]
    else:
        from joblib import Parallel, delayed

        # the longest series first, so the last process does not finish alone
        ordered = sorted(groups, key=lambda g: -len(g[1]))
        parts = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_replay_one)(str(m), g, cfg, metrics) for m, g in ordered
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
