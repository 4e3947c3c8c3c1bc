"""The reference each hour is tested against, kept as sketches built once a day.

By default a model's reference is its last `reference_days` days before the day being
processed, without the hours it drifted or was anomalous (a clean week), matched on hour of
day: 09:00 is compared with the week's 09:00 hours, so the daily rhythm of traffic mix is no
drift. A pinned window (config `drift.pinned`) replaces it for a model. The first run of a day
reads the window once and stores one sketch per (model, feature, hour of day) in
`mw_drift_reference`; every other hour of the day reads 24x fewer, small rows. Keyed on the
day, never the wall clock: replays and backfills build the same references.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.config import DriftConfig
from modelwatch.drift import stats
from modelwatch.drift.source import LABEL, PREDICTION, labelled_rows, read_predictions
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)

#: The marker row of a (day, model) whose references were built (even when there was no data).
BUILT, BUILT_HOUR = "__built__", -1
#: Models whose reference window is read in one query.
READ_CHUNK = 200
#: Days of sketches kept per model (yesterday's serve reruns of late hours).
KEEP_DAYS = 3
SketchMap = dict[tuple[str, str], tuple[str, dict[str, Any]]]


def built_with(
    cfg: DriftConfig, model_id: str, features: Sequence[str], labels: bool
) -> dict[str, Any]:
    """What a model's sketches depend on besides the window: its output type (category counts
    or quantiles), the features, labels and the sketch size. Stored in the day's marker row, so
    a setting changed mid-day (a model added to `categorical_models`) rebuilds that model's
    sketches instead of testing it against sketches of the other kind."""
    return {
        "categorical": cfg.is_categorical(model_id),
        "features": list(features),
        "labels": labels,
        "quantiles": cfg.sketch_quantiles,
    }


def reference_label(cfg: DriftConfig, model_id: str, day: datetime) -> str:
    """What a finding was compared with, as stored in mw_drift.reference."""
    pin = cfg.pinned.get(model_id)
    if pin is not None:
        return f"pinned {pin.start:%Y-%m-%dT%H}..{pin.end:%Y-%m-%dT%H}"
    start = day - timedelta(days=cfg.reference_days)
    return f"clean {start:%Y-%m-%d}..{day - timedelta(days=1):%Y-%m-%d}"


def _excluded_hours(
    wh: Warehouse, models: Sequence[str], start: datetime, end: datetime
) -> set[tuple[str, pd.Timestamp]]:
    """(model, hour) pairs that are not clean: they drifted or were anomalous."""
    p = {"models": list(models), "start": start, "end": end}
    bad = wh.query(
        "SELECT DISTINCT model_id, hour FROM mw_drift WHERE drifted AND feature = 'prediction' "
        "AND hour >= :start AND hour < :end AND model_id IN :models UNION "
        "SELECT DISTINCT model_id, hour FROM mw_scores WHERE is_anomaly "
        "AND hour >= :start AND hour < :end AND model_id IN :models",
        p,
    )
    return {(str(r.model_id), pd.Timestamp(r.hour)) for r in bad.itertuples(index=False)}


def sketch_rows(
    rows: pd.DataFrame, model_id: str, features: Sequence[str], cfg: DriftConfig
) -> list[dict[str, Any]]:
    """One model's sketches per feature and hour of day, from its reference rows."""
    out: list[dict[str, Any]] = []
    cat = cfg.is_categorical(model_id)
    hod = pd.to_datetime(rows["ts"]).dt.hour.to_numpy()
    for h in np.unique(hod):
        part = rows[hod == h]
        for f in features:
            is_cat = cat and f == PREDICTION
            values = stats.usable(part[f].dropna().to_numpy(), is_cat)
            if values.size == 0:
                continue
            sk = (
                stats.category_sketch(values)
                if is_cat
                else stats.quantile_sketch(values, cfg.sketch_quantiles)
            )
            if f == PREDICTION and LABEL in part:
                labelled = labelled_rows(part, is_cat)
                if len(labelled):
                    sk["error"] = stats.error_sketch(
                        labelled[PREDICTION].to_numpy(), labelled[LABEL].to_numpy(), is_cat
                    )
                    sk["n_labels"] = len(labelled)
            out.append({"feature": f, "hour_of_day": int(h), "n": len(values), "sketch": sk})
    return out


def build_references(
    wh: Warehouse,
    cfg: DriftConfig,
    day: datetime,
    models: Sequence[str],
    features: Sequence[str],
    labels: bool,
) -> int:
    """Build and store the day's sketches of `models`; returns the sketches written."""
    frames = []
    for i in range(0, len(models), READ_CHUNK):
        chunk = list(models[i : i + READ_CHUNK])
        pinned = [m for m in chunk if m in cfg.pinned]
        rolling = [m for m in chunk if m not in cfg.pinned]
        parts = []
        if rolling:
            start = day - timedelta(days=cfg.reference_days)
            rows = read_predictions(wh, cfg, start, day, rolling, features, labels)
            bad = _excluded_hours(wh, rolling, start, day)
            if bad and len(rows):
                hours = pd.to_datetime(rows["ts"]).dt.floor("h")
                keep = [(m, h) not in bad for m, h in zip(rows["model_id"], hours, strict=True)]
                rows = rows[np.asarray(keep, dtype=bool)]
            parts.append(rows)
        for m in pinned:
            pin = cfg.pinned[m]
            parts.append(read_predictions(wh, cfg, pin.start, pin.end, [m], features, labels))
        for rows in parts:
            for m, g in rows.groupby("model_id", sort=True):
                frames += [{"model_id": m, **r} for r in sketch_rows(g, str(m), features, cfg)]
    built = [
        {
            "model_id": m,
            "feature": BUILT,
            "hour_of_day": BUILT_HOUR,
            "n": 0,
            "sketch": built_with(cfg, m, features, labels),
        }
        for m in models
    ]
    out = pd.DataFrame(frames + built)
    out["day"] = pd.Timestamp(day).as_unit("us")
    out["reference"] = [reference_label(cfg, m, day) for m in out["model_id"]]
    out["sketch"] = [json.dumps(s, separators=(",", ":")) for s in out["sketch"]]
    cols = ["day", "model_id", "feature", "hour_of_day", "reference", "n", "sketch"]
    wh.replace(
        "mw_drift_reference",
        out[cols],
        "model_id IN :models AND (day = :day OR day < :old)",
        {"models": list(models), "day": day, "old": day - timedelta(days=KEEP_DAYS)},
    )
    return len(frames)


def load_references(
    wh: Warehouse,
    cfg: DriftConfig,
    hour: datetime,
    models: Sequence[str],
    features: Sequence[str],
    labels: bool,
) -> SketchMap:
    """The sketches of `hour`'s hour of day for `models`, building the day's first if needed."""
    day = hour.replace(hour=0)
    have = wh.query(
        "SELECT model_id, reference, sketch FROM mw_drift_reference WHERE day = :day "
        "AND feature = :built AND model_id IN :models",
        {"day": day, "built": BUILT, "models": list(models)},
    )
    done = {
        str(r.model_id): (str(r.reference), json.loads(r.sketch))
        for r in have.itertuples(index=False)
    }
    todo = [
        m
        for m in models
        if done.get(m) != (reference_label(cfg, m, day), built_with(cfg, m, features, labels))
    ]
    if todo:
        n = build_references(wh, cfg, day, todo, features, labels)
        log.info("built %d drift reference sketches for %d models on %s", n, len(todo), day)
    got = wh.query(
        "SELECT model_id, feature, reference, sketch FROM mw_drift_reference WHERE day = :day "
        "AND hour_of_day = :h AND model_id IN :models",
        {"day": day, "h": hour.hour, "models": list(models)},
    )
    return {
        (str(r.model_id), str(r.feature)): (str(r.reference), json.loads(r.sketch))
        for r in got.itertuples(index=False)
    }
