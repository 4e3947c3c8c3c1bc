"""The DAG's detect stage: each model's hour scored by that day's detector, as `mw_scores` rows.

The day's detector is fitted on the model's trailing clean history (or loaded from the day's
cache, `cache.DetectorStore`); the hour's score is the tail of its median minute (robust to a
few odd minutes), in [0, 1] and comparable across models: about 0.5 for a typical hour, near 1
for an hour unlike anything in the model's history. A model that cannot be scored still gets a
row, with the reason in `status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.cache import DetectorStore
from modelwatch.detection.detector import Detector, fit_detector
from modelwatch.detection.exclusion import without_metrics
from modelwatch.detection.explain import MetricExplanation, explain_with, explanation_json
from modelwatch.detection.features import clean_training_rows, warmup_widen
from modelwatch.detection.per_model import Changes, ModelDetection
from modelwatch.storage import StorePath
from modelwatch.timestamps import naive_utc_columns, to_naive_utc

STATUS_SCORED = "scored"
STATUS_INSUFFICIENT = "insufficient_history"
STATUS_QUARANTINED = "quarantined"
STATUS_NO_DATA = "no_data"

SCORE_COLUMNS = [
    "hour",
    "model_id",
    "status",
    "score",
    "threshold",
    "is_anomaly",
    "n_rows",
    "n_train_rows",
    "top_metrics",
    "explanation",
]


@dataclass
class HourVerdict:
    """One model's detection result for one hour: a row of `mw_scores`."""

    model_id: str
    status: str
    score: float | None = None
    threshold: float | None = None
    is_anomaly: bool = False
    n_rows: int = 0
    n_train_rows: int = 0
    explanation: list[MetricExplanation] = field(default_factory=list)
    top_k: int = 3

    def as_row(self, hour: datetime) -> dict[str, Any]:
        top = self.explanation[: self.top_k]
        return {
            "hour": hour,
            "model_id": self.model_id,
            "status": self.status,
            "score": self.score,
            "threshold": self.threshold,
            "is_anomaly": self.is_anomaly,
            "n_rows": self.n_rows,
            "n_train_rows": self.n_train_rows,
            "top_metrics": ",".join(e.metric for e in top),
            "explanation": explanation_json(self.explanation),
        }


def naive_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its `ts` in naive UTC (`timestamps.naive_utc_columns`): a source whose `ts`
    is timezone-aware must not crash the hour nor shift hour-of-day baselines to local time."""
    return naive_utc_columns(frame, [schema.TS])


def _fit_window(
    model_id: str,
    history: pd.DataFrame,
    start: datetime,
    end: datetime,
    min_hours: float,
    cfg: DetectionConfig,
    warm: bool = False,
) -> tuple[Detector | None, int]:
    """A detector fitted at `end` on the clean rows of [start, end), None below `min_hours` of
    them (`warm`: and rows in fewer than `min_hours` distinct hours); its band is widened while
    it has less than a full day detector's minimum."""
    in_window = (history[schema.TS] >= start) & (history[schema.TS] < end)
    clean, _ = clean_training_rows(history[in_window], cfg.metrics)
    per_hour = cfg.rows_per_hour  # the source's samples per hour (60 at one a minute)
    if len(clean) < min_hours * per_hour * 0.8:
        return None, len(clean)
    if warm and clean[schema.TS].dt.floor("h").nunique() < min_hours:  # hours, not rows
        return None, len(clean)
    widen = warmup_widen(len(clean) / per_hour, cfg.min_history_hours)
    return fit_detector(clean, cfg, model_id, fitted_at=end, widen=widen), len(clean)


def day_detector(
    model_id: str,
    history: pd.DataFrame,
    day: datetime,
    cfg: DetectionConfig,
    store: DetectorStore | None = None,
    tag: str = "",
) -> tuple[Detector | None, int]:
    """The model's detector for `day` and how many rows it learnt from; None when the
    history is too short to fit one.

    Fitted on the clean rows of the `history_days` before the day began, or loaded from
    `store` when an earlier hour (or the daily training) fitted it already: either way the
    same detector, so a score never depends on what the cache held. `tag` names a detector of
    a model whose baseline moved (its history then starts at the move's onset).
    """
    day = to_naive_utc(day)
    det = store.load(model_id, day, tag) if store is not None else None
    if det is not None:
        return det, det.n_train_rows
    history = naive_utc(history)
    start = day - timedelta(days=cfg.history_days)
    det, n = _fit_window(model_id, history, start, day, cfg.min_history_hours, cfg)
    if det is not None and store is not None:
        store.save(model_id, day, det, tag)
    return det, n


def warm_detector(
    model_id: str, history: pd.DataFrame, hour: datetime, cfg: DetectionConfig
) -> tuple[Detector | None, int]:
    """A detector for a model with less than a day detector's history (new, or its baseline
    just moved): fitted at `hour` on every clean row before it, from `warmup_hours` of them
    on, with a band that narrows as the history grows (`features.warmup_widen`). Refitted
    every hour (never cached): it is causal and the same on a rerun, and only such models pay."""
    start = hour - timedelta(days=cfg.history_days)
    return _fit_window(model_id, naive_utc(history), start, hour, cfg.warmup_hours, cfg, True)


def detect_model(
    model_id: str,
    hour_rows: pd.DataFrame,
    history: pd.DataFrame,
    hour: datetime,
    cfg: DetectionConfig,
    store: DetectorStore | None = None,
    since: datetime | None = None,
) -> HourVerdict:
    """Score one model's hour against its own trailing history (through `store` if given).

    Every hour of a day is scored by that day's detector (`day_detector`). So an hour's score
    depends on the day, not on which hours ran first or on whether the store already held the
    detector: reruns in any order give the same rows, and the store only saves time. Either
    frame's `ts` may be timezone-aware (`naive_utc`). A model with too little history for a
    day detector is scored by a warming-up detector (`warm_detector`) from `warmup_hours` on.

    `since`: the model's baseline moved (`baselines.py`): its detectors learn from rows at or
    after `since`; an hour the old baseline still finds usual (a rollback) is not anomalous.
    """
    hour = to_naive_utc(hour)
    hour_rows = naive_utc(hour_rows)
    history = naive_utc(history)
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    tag, before = "", None
    if since is not None:
        since = to_naive_utc(since)
        tag = f"since{since:%Y%m%dT%H}"
        before = history[history[schema.TS] < since]
        history = history[history[schema.TS] >= since]
    det, n_train = day_detector(model_id, history, day, cfg, store, tag)
    if det is None:
        det, n_train = warm_detector(model_id, history, hour, cfg)
    if det is None:
        return HourVerdict(
            model_id, STATUS_INSUFFICIENT, n_rows=len(hour_rows), n_train_rows=n_train
        )
    score = det.hour_score(hour_rows)
    if before is not None and score >= cfg.threshold:
        old = _before_detector(model_id, before, since, day, cfg, store, tag)
        if old is not None:
            score = min(score, old.hour_score(hour_rows))
    center, scale = det.hod_center[hour.hour], det.hod_scale[hour.hour]
    return HourVerdict(
        model_id,
        STATUS_SCORED,
        score=score,
        threshold=cfg.threshold,
        is_anomaly=score >= cfg.threshold,
        n_rows=len(hour_rows),
        n_train_rows=n_train,
        explanation=without_metrics(
            explain_with(hour_rows, center, scale, det.metrics), cfg.exclude_metrics
        ),
        top_k=cfg.top_k,
    )


def _before_detector(
    model_id: str,
    before: pd.DataFrame,
    since: datetime,
    day: datetime,
    cfg: DetectionConfig,
    store: DetectorStore | None,
    tag: str,
) -> Detector | None:
    """The detector of the baseline before it moved (the day's history before `since`)."""
    det = store.load(model_id, day, f"before-{tag}") if store is not None else None
    if det is None:
        start = day - timedelta(days=cfg.history_days)
        det, _ = _fit_window(model_id, before, start, since, cfg.min_history_hours, cfg)
        if det is not None and store is not None:
            store.save(model_id, day, det, f"before-{tag}")
    return det


def detect_models(
    hour_rows: pd.DataFrame,
    history: pd.DataFrame,
    models: list[str],
    hour: datetime,
    cfg: DetectionConfig,
    store_dir: str | StorePath | None = None,
    baselines: Mapping[str, datetime] | None = None,
    changes: Changes | None = None,
) -> pd.DataFrame:
    """Score each of `models` (one shard); returns `mw_scores` rows.

    `store_dir`: a folder (or a store's path) for the per-model, per-day detector cache
    (`DetectorStore`); without it every model's forest is fitted afresh (same scores for the
    day's first hour, slower).
    `baselines`: model -> onset of its moved baseline (`baselines.py`), for the models whose
    baseline moved. `changes`: model -> the detection settings its overrides change
    (`config.overrides.per_model_detection`); the others use `cfg`.
    """
    hour = to_naive_utc(hour)
    hour_rows, history = naive_utc(hour_rows), naive_utc(history)
    per = ModelDetection(cfg, changes, store_dir)
    hour_groups = dict(tuple(hour_rows.groupby(schema.MODEL_ID, sort=False)))
    hist_groups = dict(tuple(history.groupby(schema.MODEL_ID, sort=False)))
    empty_h = history.iloc[0:0]
    baselines = baselines or {}
    rows = []
    for model_id in models:
        own = hour_groups.get(model_id)
        if own is None or own.empty:
            verdict = HourVerdict(model_id, STATUS_NO_DATA)
        else:
            own_h = hist_groups.get(model_id, empty_h)
            since = baselines.get(model_id)
            own_cfg, store = per.cfg(model_id), per.store(model_id)
            verdict = detect_model(model_id, own, own_h, hour, own_cfg, store, since)
        rows.append(verdict.as_row(hour))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def excluded_verdict(model_id: str, hour: datetime, status: str, n_rows: int) -> dict[str, Any]:
    """The `mw_scores` row of a model the gate kept out of detection (never silently absent)."""
    row = HourVerdict(model_id, status, n_rows=n_rows).as_row(hour)
    return row
