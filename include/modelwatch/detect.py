"""Per-model anomaly detection: an Isolation Forest on the model's own history.

For each model and hour: fit a forest on the model's trailing clean history, turn each minute's
raw anomaly score into a tail probability against the training rows, summarise the hour by the
median of those (robust to a few odd minutes), and calibrate that summary against the same
summary over the training hours. The result is a score in [0, 1], comparable across models,
where 0.5 is a typical hour and values near 1 are hours unlike anything in the model's history.

The explanation is independent of the forest: robust z-scores of each metric's hourly median
against the model's baseline for that hour of day, so on-call reads "p99 latency 840 ms against
a usual 120 ms" rather than a path length.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.features import SeasonalBaseline, clean_training_rows

STATUS_SCORED = "scored"
STATUS_INSUFFICIENT = "insufficient_history"
STATUS_QUARANTINED = "quarantined"
STATUS_NO_DATA = "no_data"


def model_seed(model_id: str, seed: int) -> int:
    """A stable per-model random state: reruns of an hour give the same forest."""
    return (zlib.crc32(model_id.encode()) ^ seed) & 0x7FFFFFFF


@dataclass
class Detector:
    """A fitted per-model detector and its calibration."""

    forest: Any
    baseline: SeasonalBaseline
    train_raw: np.ndarray  # sorted raw scores of the training rows
    n_train_rows: int

    def row_tail(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row: the share of training rows that looked more normal (mid-rank for ties, so
        the many rows that sit exactly on the baseline read as typical, not as extreme)."""
        raw = -self.forest.score_samples(self.baseline.transform(frame))
        below = np.searchsorted(self.train_raw, raw, side="left")
        upto = np.searchsorted(self.train_raw, raw, side="right")
        return (below + upto) / (2.0 * len(self.train_raw))

    def hour_score(self, frame: pd.DataFrame) -> float:
        """The hour's score in [0, 1]: the tail of its median minute, so a few odd minutes do
        not make an anomalous hour but a sustained change does."""
        return float(np.median(self.row_tail(frame)))


def fit_detector(history: pd.DataFrame, cfg: DetectionConfig, model_id: str) -> Detector:
    """Fit the forest on (at most `max_train_rows` of) the history and calibrate it."""
    from sklearn.ensemble import IsolationForest  # heavy import: only when detecting

    rng = np.random.default_rng(model_seed(model_id, cfg.seed))
    baseline = SeasonalBaseline(history)
    train = history
    if len(train) > cfg.max_train_rows:
        idx = np.sort(rng.choice(len(train), size=cfg.max_train_rows, replace=False))
        train = train.iloc[idx]
    x = baseline.transform(train)
    forest = IsolationForest(
        n_estimators=cfg.n_estimators,
        max_samples=min(cfg.max_samples, len(train)),
        random_state=model_seed(model_id, cfg.seed),
    ).fit(x)
    return Detector(forest, baseline, np.sort(-forest.score_samples(x)), len(history))


@dataclass
class MetricExplanation:
    metric: str
    observed: float
    baseline: float
    robust_z: float


def explain(
    hour_rows: pd.DataFrame, history: pd.DataFrame, hour: datetime
) -> list[MetricExplanation]:
    """Each metric's hourly median against its baseline, most unusual first.

    The baseline is the same hour of day in the history when at least three days of it exist
    (traffic at 3 pm is not traffic at 3 am), else the whole history.
    """
    same_hour = history[history[schema.TS].dt.hour == hour.hour]
    base = same_hour if len(same_hour) >= 3 * schema.ROWS_PER_HOUR * 0.8 else history
    out = []
    for name in schema.METRIC_NAMES:
        observed = float(np.median(hour_rows[name].to_numpy(dtype=float)))
        values = base[name].to_numpy(dtype=float)
        median = float(np.median(values))
        mad = float(np.median(np.abs(values - median))) * 1.4826
        scale = max(mad, 0.01 * abs(median), 1e-9)
        out.append(MetricExplanation(name, observed, median, (observed - median) / scale))
    out.sort(key=lambda e: -abs(e.robust_z))
    return out


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
            "explanation": json.dumps(
                [
                    {
                        "metric": e.metric,
                        "observed": round(e.observed, 6),
                        "baseline": round(e.baseline, 6),
                        "robust_z": round(e.robust_z, 3),
                    }
                    for e in self.explanation
                ]
            ),
        }


def detect_model(
    model_id: str,
    hour_rows: pd.DataFrame,
    history: pd.DataFrame,
    hour: datetime,
    cfg: DetectionConfig,
) -> HourVerdict:
    """Score one model's hour against its own trailing history."""
    history, _ = clean_training_rows(history)
    start = hour - timedelta(days=cfg.history_days)
    history = history[(history[schema.TS] >= start) & (history[schema.TS] < hour)]
    n_train = len(history)
    if n_train < cfg.min_history_hours * schema.ROWS_PER_HOUR * 0.8:
        return HourVerdict(
            model_id, STATUS_INSUFFICIENT, n_rows=len(hour_rows), n_train_rows=n_train
        )
    detector = fit_detector(history, cfg, model_id)
    score = detector.hour_score(hour_rows)
    return HourVerdict(
        model_id,
        STATUS_SCORED,
        score=score,
        threshold=cfg.threshold,
        is_anomaly=score >= cfg.threshold,
        n_rows=len(hour_rows),
        n_train_rows=n_train,
        explanation=explain(hour_rows, history, hour),
        top_k=cfg.top_k,
    )


def detect_models(
    hour_rows: pd.DataFrame,
    history: pd.DataFrame,
    models: list[str],
    hour: datetime,
    cfg: DetectionConfig,
) -> pd.DataFrame:
    """Score each of `models` (one shard); returns `mw_scores` rows."""
    hour_groups = dict(tuple(hour_rows.groupby(schema.MODEL_ID, sort=False)))
    hist_groups = dict(tuple(history.groupby(schema.MODEL_ID, sort=False)))
    empty_h = history.iloc[0:0]
    rows = []
    for model_id in models:
        own = hour_groups.get(model_id)
        if own is None or own.empty:
            verdict = HourVerdict(model_id, STATUS_NO_DATA)
        else:
            verdict = detect_model(model_id, own, hist_groups.get(model_id, empty_h), hour, cfg)
        rows.append(verdict.as_row(hour))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


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


def excluded_verdict(model_id: str, hour: datetime, status: str, n_rows: int) -> dict[str, Any]:
    """The `mw_scores` row of a model the gate kept out of detection (never silently absent)."""
    row = HourVerdict(model_id, status, n_rows=n_rows).as_row(hour)
    return row
