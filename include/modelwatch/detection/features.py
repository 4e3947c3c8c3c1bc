"""Turn raw one-minute metrics into the features the detector sees.

Logs tame the heavy right tails of latency, traffic and error rate, so an Isolation Forest's
uniform splits spend their effort where the data is; load per replica ties traffic to capacity.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from modelwatch import schema

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


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """The detector's input: one row per metric row, columns in FEATURES order."""
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


#: Which way a feature can go wrong: +1 only up (latency, errors, resource use: lower is never a
#: problem), 0 both ways (traffic and predictions: a drop can be as bad as a rise).
DIRECTION: dict[str, int] = {
    "log_request_rate": 0,
    "log_latency_p50": 1,
    "log_latency_p95": 1,
    "log_latency_p99": 1,
    "log_error_rate": 1,
    "cpu_util": 1,
    "memory_util": 1,
    "prediction_mean": 0,
    "log_load_per_replica": 1,
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

    MIN_ROWS_PER_HOUR = 90  # about a day and a half of one-minute rows

    def __init__(self, history: pd.DataFrame, widen: float = 1.0) -> None:
        """`widen` (>= 1) multiplies the band: a detector that learnt from less than a day
        (a new model warming up, a baseline that just moved) has not seen every hour of the
        daily cycle, so what it takes for usual must be wider (`warmup_widen`)."""
        x = feature_matrix(history)
        hod = history[schema.TS].dt.hour.to_numpy()
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # quiet minutes have no latency: all-null slices are allowed (their level: 0)
            warnings.simplefilter("ignore", RuntimeWarning)
            overall = np.nan_to_num(np.nanmedian(x, axis=0))
            self.levels = np.tile(overall, (24, 1))
            for h in range(24):
                sel = hod == h
                if sel.sum() >= self.MIN_ROWS_PER_HOUR:
                    self.levels[h] = np.nan_to_num(np.nanmedian(x[sel], axis=0), nan=overall)
            resid = x - self.levels[hod]
            dev = np.abs(resid - np.nanmedian(resid, axis=0))
            noise = np.nan_to_num(1.4826 * np.nanmedian(dev, axis=0))
            days = history[schema.TS].dt.floor("D").to_numpy()
            daily = pd.DataFrame(resid).groupby(days).median().to_numpy()
            day_spread = (
                np.nan_to_num(np.nanstd(daily, axis=0)) if len(daily) >= 3 else np.zeros(x.shape[1])
            )
        floor = np.array([PRACTICAL_FLOOR[f] for f in FEATURES])
        relative = RELATIVE_TOLERANCE * np.abs(self.levels).max(axis=0)
        self.tolerance = max(widen, 1.0) * np.maximum.reduce(
            [floor, 3 * day_spread, 3 * noise, relative, np.full_like(floor, 1e-9)]
        )
        floor_down = np.array([PRACTICAL_FLOOR_DOWN[f] for f in FEATURES])
        self.tolerance_down = np.maximum(self.tolerance, floor_down)
        self.upward_only = np.array([DIRECTION[f] > 0 for f in FEATURES])

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Deviations from the baseline beyond the tolerance band, in units of the band (a
        fall measured against the band for falls, a rise against the band for rises)."""
        resid = feature_matrix(frame) - self.levels[frame[schema.TS].dt.hour.to_numpy()]
        resid[np.isnan(resid)] = 0.0  # a quiet minute's latency is no deviation
        # An absurd value (1e300) against a narrow band is infinitely far: inf, not a warning.
        with np.errstate(over="ignore"):
            up = np.maximum(resid - self.tolerance, 0.0) / self.tolerance
            down = np.maximum(-resid - self.tolerance_down, 0.0) / self.tolerance_down
        down[:, self.upward_only] = 0.0
        return up - down


def clean_training_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop history rows that break the input contract, and say how many went.

    History hours that were validated and quarantined are excluded upstream; this catches the
    rest (hours never validated), so bad rows can never teach the detector what normal is.
    """
    present = frame[list(schema.METRIC_NAMES)].notna()
    quiet = frame["request_rate"] == 0  # quiet minutes: no latency or error rate to report
    for name in schema.QUIET_NULLABLE:
        present[name] |= quiet
    ok = present.all(axis=1)
    for m in schema.METRICS:
        col = frame[m.name]
        if m.name in schema.QUIET_NULLABLE:  # a quiet minute's null is in range
            col = col.where(~(quiet & col.isna()), m.min_value if m.min_value is not None else 0)
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
