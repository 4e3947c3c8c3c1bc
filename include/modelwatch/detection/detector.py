"""A fitted per-model detector: features, forest, calibration, and the row and hour tails.

A forest fitted on the model's trailing clean history (`fit_detector`) gives each row a tail
probability against the training rows, pushed towards 1 when a feature leaves the range it took
in training (a forest cannot see that). The hourly decision (`hourly.py`) and the replay's
per-row stream (`stream.py`) both start from these tails. See docs/detection.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.explain import explain_baselines
from modelwatch.detection.features import (
    GENERIC_CONTEXT_ROWS,
    SeasonalBaseline,
    generic_features,
    rows_per_day,
)
from modelwatch.detection.forest import PackedForest, fit_forest, model_seed


def schema_columns(frame: pd.DataFrame) -> bool:
    """Whether a frame carries our serving schema (then the seasonal serving features apply)."""
    return all(m in frame.columns for m in schema.METRIC_NAMES)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric metric columns of any input: everything but the keys and the version."""
    skip = {schema.MODEL_ID, schema.TS, schema.MODEL_VERSION}
    return [
        c
        for c in frame.columns
        if c not in skip
        and not str(c).startswith("Unnamed:")  # a CSV's saved index is not a metric
        and pd.api.types.is_numeric_dtype(frame[c])
    ]


def empirical_log_tail(ref: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log P(reference >= x) against a sorted reference sample, mid-rank for ties (so the many
    rows that sit exactly on the baseline read as typical, not extreme).

    Beyond the largest reference value the empirical tail would be flat; it is extended with
    an exponential tail fitted to the top 1 %, so extreme values still rank by how extreme they
    are. Logs keep that ranking where 1 - p underflows.
    """
    n = len(ref)
    x = np.asarray(x, dtype=float)
    below = np.searchsorted(ref, x, side="left")
    upto = np.searchsorted(ref, x, side="right")
    out = np.log(np.maximum(1.0 - (below + upto) / (2.0 * n), 0.5 / n))
    top = ref[-1]
    q = ref[int(0.99 * (n - 1))]
    scale = max((top - q) / max(np.log(0.01 * n + 1.0), 1e-9), 1e-6)
    beyond = x > top
    with np.errstate(over="ignore"):  # an absurd value is infinitely unlikely: -inf
        out[beyond] = np.log(0.5 / n) - (x[beyond] - top) / scale
    return out


@dataclass
class Detector:
    """A fitted per-model detector: its features, forest, calibration and training range.

    Two feature sets share everything else: our serving schema gets the seasonal, log-scaled
    deviations of `features.SeasonalBaseline` (tuned to serving telemetry); any other metrics
    (e.g. NAB's single `value`) get `features.generic_features` (value, difference, deviation
    from the short and long trailing mean), which need `context_rows` earlier rows.
    """

    forest: PackedForest
    metrics: tuple[str, ...]
    baseline: SeasonalBaseline | None  # the schema path; None = generic features
    train_raw: np.ndarray  # sorted raw scores of the training rows
    lo: np.ndarray  # per metric: the training range, for the beyond-range signal
    hi: np.ndarray
    center: np.ndarray  # per metric: training median and robust scale, for explanations
    scale: np.ndarray
    n_train_rows: int
    fitted_at: datetime | None = None
    #: Sorted sums of `stream_rows` consecutive training surprises: the long-run distribution
    #: that a run of recent scores is compared with (it carries the series' autocorrelation).
    pooled_ref: np.ndarray | None = None
    #: Generic path: rows per day when the history held enough days for seasonal features.
    period: int = 0
    #: Schema path: each feature's training range, and how strongly leaving it counts.
    feat_lo: np.ndarray | None = None
    feat_hi: np.ndarray | None = None
    beyond_gain: float = 0.0
    #: Schema path: each metric's explanation baseline per hour of day (24 x metrics), so
    #: an hour scored from the cache needs no pass over the history.
    hod_center: np.ndarray | None = None
    hod_scale: np.ndarray | None = None

    @property
    def context_rows(self) -> int:
        return 0 if self.baseline is not None else GENERIC_CONTEXT_ROWS + self.period + 1

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        if self.baseline is not None:
            return self.baseline.transform(frame)
        values = frame[list(self.metrics)].to_numpy(dtype=float)
        return generic_features(values, period=self.period)

    def log_tail(self, raw: np.ndarray) -> np.ndarray:
        """Per row: log(1 - p), p = the share of training rows that looked more normal."""
        return empirical_log_tail(self.train_raw, raw)

    def tail(self, raw: np.ndarray) -> np.ndarray:
        """Per row: the share of training rows that looked more normal (see `log_tail`)."""
        n = len(self.train_raw)
        below = np.searchsorted(self.train_raw, raw, side="left")
        upto = np.searchsorted(self.train_raw, raw, side="right")
        return (below + upto) / (2.0 * n)

    def beyond_range(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row: how far the furthest metric lies outside its training range, in units of
        that range. A forest cannot say this: every point beyond the training range falls in
        the same edge leaves, so a value 10x past the maximum scores like one just past it."""
        x = frame[list(self.metrics)].to_numpy(dtype=float)
        span = np.maximum(self.hi - self.lo, 1e-6 * np.maximum(np.abs(self.hi), 1.0))
        out = np.maximum(np.maximum(x - self.hi, self.lo - x), 0.0) / span
        out = np.nan_to_num(out, nan=0.0, posinf=np.inf)  # infinitely far stays infinite
        return out.max(axis=1) if out.size else np.zeros(len(x))

    def feature_beyond(self, x: np.ndarray) -> np.ndarray:
        """Schema path, per row: how far the furthest feature lies outside the range it took in
        training, in the features' own unit (tolerance bands). A forest never splits on a
        feature that did not vary in training (a memory leak on a model whose memory sat
        inside its band all week), and treats everything past the range alike; this does not.
        """
        if self.feat_lo is None or self.feat_hi is None or len(x) == 0:
            return np.zeros(len(x))
        out = np.maximum(np.maximum(x - self.feat_hi, self.feat_lo - x), 0.0)
        # One band of grace: most features sit at exactly 0 all week, so without it a dip just
        # past its tolerance band (Sunday traffic) would count as "never seen" and page.
        out = np.maximum(out - 1.0, 0.0)
        return np.nan_to_num(out, nan=0.0, posinf=np.inf).max(axis=1)

    def row_tail(self, frame: pd.DataFrame, beyond_gain: float | None = None) -> np.ndarray:
        """Tail probability of each row of `frame` (the hourly path: no context needed), with
        a row beyond the training range of the features pushed towards 1 (`feature_beyond`)."""
        x = self.features(frame)
        p = self.tail(self.forest.raw(x))
        gain = self.beyond_gain if beyond_gain is None else beyond_gain
        if gain > 0:
            with np.errstate(over="ignore"):  # absurdly far out: exp(-inf) = 0, p = 1
                p = 1.0 - (1.0 - p) * np.exp(-gain * self.feature_beyond(x))
        return p

    def row_log_tail(
        self, frame: pd.DataFrame, n_context: int = 0, beyond_gain: float = 0.0
    ) -> np.ndarray:
        """log(1 - tail) of each row of `frame[n_context:]`; earlier rows are context.

        With `beyond_gain` > 0, a row beyond the training range has its log tail lowered by
        gain * distance (in training ranges), so the further out, the more anomalous.
        """
        x = self.features(frame)[n_context:]
        lt = self.log_tail(self.forest.raw(x))
        if beyond_gain > 0:
            with np.errstate(over="ignore"):  # absurdly far out: a log tail of -inf
                lt = lt - beyond_gain * self.beyond_range(frame.iloc[n_context:])
        return lt

    def hour_score(self, frame: pd.DataFrame) -> float:
        """The hour's score in [0, 1]: the tail of its median minute, so a few odd minutes do
        not make an anomalous hour but a sustained change does."""
        return float(np.median(self.row_tail(frame)))


def seasonal_period(ts: pd.Series, cfg: DetectionConfig) -> int:
    """Rows per day if the history spans `seasonal_days` days (so the same-time-yesterday
    deviation has been seen often enough to be learnt), else 0 (no seasonal features; also
    when `seasonal_days` is 0)."""
    t = pd.to_datetime(ts)
    if cfg.seasonal_days <= 0 or len(t) == 0:
        return 0
    if t.max() - t.min() < pd.Timedelta(days=cfg.seasonal_days):
        return 0
    return rows_per_day(t)


def _robust_center_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    center = np.nanmedian(x, axis=0)
    mad = 1.4826 * np.nanmedian(np.abs(x - center), axis=0)
    return center, np.maximum.reduce([mad, 0.01 * np.abs(center), np.full_like(center, 1e-9)])


def fit_detector(
    history: pd.DataFrame,
    cfg: DetectionConfig,
    model_id: str,
    metrics: list[str] | None = None,
    fitted_at: datetime | None = None,
) -> Detector:
    """Fit the forest on (at most `max_train_rows` of) the history and calibrate it.

    `metrics` None means: our serving schema if the frame has it, else every numeric column.
    The schema path subsamples the history at random (its features are hour-of-day deviations,
    so any row is as good as another); the generic path keeps the most recent rows, because an
    arbitrary series drifts and the recent past is the better picture of normal.
    """
    use_schema = metrics is None and schema_columns(history)
    period = 0
    metrics = list(schema.METRIC_NAMES) if use_schema else (metrics or metric_columns(history))
    if use_schema:
        rng = np.random.default_rng(model_seed(model_id, cfg.seed))
        baseline: SeasonalBaseline | None = SeasonalBaseline(history)
        train = history
        if len(train) > cfg.max_train_rows:
            idx = np.sort(rng.choice(len(train), size=cfg.max_train_rows, replace=False))
            train = train.iloc[idx]
        x = baseline.transform(train)
    else:
        baseline = None
        period = seasonal_period(history[schema.TS], cfg)
        # Features of the training rows need only `context` earlier rows (the longest window).
        context = GENERIC_CONTEXT_ROWS + period + 1
        values = history[metrics].to_numpy(dtype=float)[-(cfg.max_train_rows + context) :]
        x = generic_features(values, period=period)[-cfg.max_train_rows :]
        train = history.iloc[-cfg.max_train_rows :]
    packed = fit_forest(x, cfg, model_seed(model_id, cfg.seed))
    # Generic series calibrate on their latest rows only: scoring every training row costs as
    # much as growing the forest, and the recent past is the better picture of normal.
    calib = x if use_schema else x[-cfg.calibration_rows :]
    train_raw = packed.raw(calib)
    sorted_raw = np.sort(train_raw)
    u = -empirical_log_tail(sorted_raw, train_raw)
    pooled_ref = np.sort(pd.Series(u).rolling(cfg.stream_rows, min_periods=1).sum().to_numpy())
    values = train[metrics].to_numpy(dtype=float)
    center, scale = _robust_center_scale(values)
    return Detector(
        forest=packed,
        metrics=tuple(metrics),
        baseline=baseline,
        train_raw=sorted_raw,
        lo=np.nanmin(values, axis=0),
        hi=np.nanmax(values, axis=0),
        feat_lo=np.nanmin(x, axis=0) if use_schema else None,
        feat_hi=np.nanmax(x, axis=0) if use_schema else None,
        beyond_gain=cfg.beyond_gain if use_schema else 0.0,
        center=center,
        scale=scale,
        n_train_rows=len(history),
        fitted_at=fitted_at,
        pooled_ref=pooled_ref,
        period=0 if use_schema else period,
        **(explain_baselines(history) if use_schema else {}),
    )
