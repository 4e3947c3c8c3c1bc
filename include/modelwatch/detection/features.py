"""Turn raw metrics (one row per model per source interval) into the features the detector sees.

Logs tame the heavy right tails of latency, traffic and error rate, so an Isolation Forest's
uniform splits spend their effort where the data is; load per replica ties traffic to capacity.
A metric declared in the config (config/metrics.py) is a feature as it is, after the nine: its
unit and scale are the team's, so no transform and no practical floor is assumed for it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.detection.medians import column_medians


def rows_per_hour(ts: pd.Series) -> float:
    """How many rows an hour of this history holds: an hour over the rows' typical spacing
    (the source's sample interval: 60 for one-minute rows, 12 for five-minute ones)."""
    stamps = np.unique(ts.dropna().to_numpy(dtype="datetime64[ns]"))
    if len(stamps) < 2:
        return float(schema.ROWS_PER_HOUR)
    step = float(np.median(np.diff(stamps).astype(np.int64))) / 1e9
    return 3600.0 / step if step > 0 else float(schema.ROWS_PER_HOUR)


#: Feature name -> how it is computed from a frame of metrics.
FEATURES: tuple[str, ...] = (
    "log_request_rate",
    "log_latency_p50",
    "log_latency_p95",
    "log_latency_p99",
    "log_error_rate",
    "cpu_util",
    "memory_util",
    "prediction_mean",
    "log_load_per_replica",
)


def feature_matrix(frame: pd.DataFrame, extras: Sequence[str] = ()) -> np.ndarray:
    """The detector's input: one row per metric row, columns in FEATURES order, then the
    declared metrics `extras` as they are."""
    rate = frame["request_rate"].to_numpy(dtype=float)
    replicas = np.maximum(frame["replicas"].to_numpy(dtype=float), 1.0)
    cols = [
        np.log1p(rate),
        np.log1p(frame["latency_p50_ms"].to_numpy(dtype=float)),
        np.log1p(frame["latency_p95_ms"].to_numpy(dtype=float)),
        np.log1p(frame["latency_p99_ms"].to_numpy(dtype=float)),
        np.log10(frame["error_rate"].to_numpy(dtype=float) + 1e-4),
        frame["cpu_util"].to_numpy(dtype=float),
        frame["memory_util"].to_numpy(dtype=float),
        frame["prediction_mean"].to_numpy(dtype=float),
        np.log1p(rate / replicas),
        *(frame[name].to_numpy(dtype=float) for name in extras),
    ]
    return np.column_stack(cols)


#: Smallest deviation of each feature that matters to an operator, whatever the statistics
#: say: 5 points of CPU or memory, a 2x error rate, 15 % latency, 35 % traffic. Below it a
#: deviation is ignored, so slow harmless drifts and weekend dips do not page anyone.
PRACTICAL_FLOOR: dict[str, float] = {
    "log_request_rate": 0.3,
    "log_latency_p50": 0.15,
    "log_latency_p95": 0.15,
    "log_latency_p99": 0.15,
    "log_error_rate": 0.3,
    "cpu_util": 0.05,
    "memory_util": 0.05,
    "prediction_mean": 0.0,  # no universal unit: the model's own variability decides
    "log_load_per_replica": 0.3,
}

#: Smallest tolerance relative to a feature's level: a metric that sat at exactly 0.3 all week
#: and reads 0.3000001 now has changed by float noise (a rounding in the exporter, a sum taken in
#: another order), not by anything an operator could act on. One in a million is far below any
#: real change (0.3 -> 0.3003 still counts) and far above float64's relative precision.
RELATIVE_TOLERANCE = 1e-6

#: Falls need more than rises before they count: a quiet Sunday has a third less traffic, an
#: upstream outage halves it or worse.
PRACTICAL_FLOOR_DOWN: dict[str, float] = {**PRACTICAL_FLOOR, "log_request_rate": float(np.log(2))}


#: Which way a feature can go wrong, in the terms a metric declares (`schema.Metric.direction`):
#: "up" (latency, errors, resource use: lower is never a problem), "both" (traffic and
#: predictions: a drop can be as bad as a rise). Each is its metric's direction; load per
#: replica, made of two, counts when it rises. A declared metric's feature has its own.
DIRECTION: dict[str, str] = {
    "log_request_rate": "both",
    "log_latency_p50": "up",
    "log_latency_p95": "up",
    "log_latency_p99": "up",
    "log_error_rate": "up",
    "cpu_util": "up",
    "memory_util": "up",
    "prediction_mean": "both",
    "log_load_per_replica": "up",
}


class SeasonalBaseline:
    """Each feature's usual level per hour of day, and how far from it is still usual.

    Serving metrics follow the daily cycle: 3 am traffic is not 3 pm traffic. The forest sees
    deviations from this baseline, so the nightly trough is not an anomaly but a 3 am surge is.
    A deviation counts only beyond a tolerance band: the larger of the feature's practical floor,
    three times its day-to-day variation (weekends, slow drift), three times its
    minute-to-minute noise and `RELATIVE_TOLERANCE` of its level (so float noise on a metric that
    never moved is not an anomaly). What is left is expressed in units of that band.
    """

    #: A slot's own level needs about a day and a half of its rows (90 of one-minute rows).
    MIN_DAYS_PER_SLOT = 1.5
    #: The seasonal slots a level is kept for: the 24 hours of the day. Weekly slots (day of
    #: week x hour) were measured and paged more (docs/decisions/0002-weekly-seasonality.md).
    SLOTS = 24

    def slots(self, ts: pd.Series) -> np.ndarray:
        """The slot of each timestamp: its hour of day."""
        return ts.dt.hour.to_numpy()

    def __init__(
        self,
        history: pd.DataFrame,
        widen: float = 1.0,
        extras: Sequence[schema.Metric] = (),
    ) -> None:
        """`widen` (>= 1) multiplies the band: a detector that learnt from less than a day
        (a new model warming up, a baseline that just moved) has not seen every hour of the
        daily cycle, so what it takes for usual must be wider (`warmup_widen`). `extras`: the
        declared metrics, each a feature with its direction."""
        self.extras = tuple(m.name for m in extras)
        names = (*FEATURES, *self.extras)
        directions = [*(DIRECTION[f] for f in FEATURES), *(m.direction for m in extras)]
        x = feature_matrix(history, self.extras)
        slot = self.slots(history[schema.TS])
        min_rows = self.MIN_DAYS_PER_SLOT * rows_per_hour(history[schema.TS])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # quiet minutes have no latency: all-null slices are allowed (their level: 0)
            warnings.simplefilter("ignore", RuntimeWarning)
            overall = np.nan_to_num(column_medians(x))
            self.levels = np.tile(overall, (self.SLOTS, 1))
            for k in range(self.SLOTS):
                sel = slot == k
                if sel.sum() >= min_rows:
                    self.levels[k] = np.nan_to_num(column_medians(x[sel]), nan=overall)
            resid = x - self.levels[slot]
            dev = np.abs(resid - column_medians(resid))
            noise = np.nan_to_num(1.4826 * column_medians(dev))
            days = history[schema.TS].dt.floor("D").to_numpy()
            daily = pd.DataFrame(resid).groupby(days).median().to_numpy()
            day_spread = (
                np.nan_to_num(np.nanstd(daily, axis=0)) if len(daily) >= 3 else np.zeros(x.shape[1])
            )
        floor = np.array([PRACTICAL_FLOOR.get(f, 0.0) for f in names])
        relative = RELATIVE_TOLERANCE * np.abs(self.levels).max(axis=0)
        self.tolerance = max(widen, 1.0) * np.maximum.reduce(
            [floor, 3 * day_spread, 3 * noise, relative, np.full_like(floor, 1e-9)]
        )
        floor_down = np.array([PRACTICAL_FLOOR_DOWN.get(f, 0.0) for f in names])
        self.tolerance_down = np.maximum(self.tolerance, floor_down)
        self.upward_only = np.array([d == "up" for d in directions])
        self.downward_only = np.array([d == "down" for d in directions])

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Deviations from the baseline beyond the tolerance band, in units of the band (a
        fall measured against the band for falls, a rise against the band for rises)."""
        slot = self.slots(frame[schema.TS])
        resid = feature_matrix(frame, self.extras) - self.levels[slot]
        resid[np.isnan(resid)] = 0.0  # a quiet minute's latency is no deviation
        # An absurd value (1e300) against a narrow band is infinitely far: inf, not a warning.
        with np.errstate(over="ignore"):
            up = np.maximum(resid - self.tolerance, 0.0) / self.tolerance
            down = np.maximum(-resid - self.tolerance_down, 0.0) / self.tolerance_down
        down[:, self.upward_only] = 0.0
        up[:, self.downward_only] = 0.0
        return up - down


def clean_training_rows(
    frame: pd.DataFrame, metrics: Sequence[schema.Metric] = schema.METRICS
) -> tuple[pd.DataFrame, int]:
    """Drop history rows that break the input contract (`metrics`: built-in and declared),
    and say how many went.

    History hours that were validated and quarantined are excluded upstream; this catches the
    rest (hours never validated), so bad rows can never teach the detector what normal is.
    """
    present = frame[[m.name for m in metrics]].notna()
    quiet = frame["request_rate"] == 0  # quiet minutes: no latency or error rate to report
    for name in schema.QUIET_NULLABLE:
        present[name] |= quiet
    unreported = pd.DataFrame(False, index=frame.index, columns=present.columns)
    hours = frame[schema.TS].dt.floor("h")
    for m in metrics:
        if m.optional:  # a model-hour without any value of it: the model does not report it
            seen = frame[m.name].notna().groupby([frame[schema.MODEL_ID], hours])
            unreported[m.name] = seen.transform("sum") == 0
            present[m.name] |= unreported[m.name]
    ok = present.all(axis=1)
    for m in metrics:
        col = frame[m.name]
        lowest = m.min_value if m.min_value is not None else 0
        if m.name in schema.QUIET_NULLABLE:  # a quiet minute's null is in range
            col = col.where(~(quiet & col.isna()), lowest)
        col = col.where(~unreported[m.name], lowest)
        if m.min_value is not None:
            ok &= col >= m.min_value
        if m.max_value is not None:
            ok &= col <= m.max_value
    ok &= frame[schema.MODEL_ID].notna() & frame[schema.TS].notna()
    kept = frame[ok]
    kept = kept[~kept.duplicated(subset=[schema.MODEL_ID, schema.TS], keep="first")]
    return kept, len(frame) - len(kept)


def warmup_widen(hours: float, full_hours: float) -> float:
    """How much wider the band of a detector that learnt from `hours` of history is: 1 from
    `full_hours` (a full day detector's minimum) on, sqrt(full / hours) before (the error of a
    level estimated from a fraction of the cycle shrinks as the square root of what was seen)."""
    return float(np.sqrt(full_hours / hours)) if 0 < hours < full_hours else 1.0
