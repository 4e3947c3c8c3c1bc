"""Why an hour looks odd, in the operator's units: each metric against its usual level.

The explanation is independent of the forest: robust z-scores of each metric's hourly median
against the model's baseline for that hour of day, so on-call reads "p99 latency 840 ms against
a usual 120 ms" rather than a path length.

Its JSON (`explanation_json`, stored in `mw_scores.explanation` and read by alerting and
remediation) is always strict JSON, never `NaN` or `Infinity`:
- `robust_z` is a finite number: beyond +-`Z_CAP` (a metric that never varied, then moved; an
  absurd value) it is written as +-`Z_CAP` with `"z_capped": true`; it is null only when the
  metric has no finite value in the hour (nothing to compare);
- `observed` and `baseline` are null when not finite (a metric missing from every row).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.detection.features import rows_per_hour
from modelwatch.detection.medians import column_medians


@dataclass
class MetricExplanation:
    metric: str
    observed: float
    baseline: float
    robust_z: float


#: The largest |robust z| written out; anything further is "off the scale" (`z_capped`).
Z_CAP = 1e6


def _finite(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def explanation_entry(e: MetricExplanation) -> dict[str, Any]:
    """One metric's explanation as strict-JSON-safe values (see the module docstring)."""
    entry: dict[str, Any] = {
        "metric": e.metric,
        "observed": _finite(e.observed, 6),
        "baseline": _finite(e.baseline, 6),
        "robust_z": None,
    }
    if not math.isnan(e.robust_z):
        z = min(max(e.robust_z, -Z_CAP), Z_CAP)
        entry["robust_z"] = round(z, 3)
        if z != e.robust_z:
            entry["z_capped"] = True
    return entry


def explanation_json(entries: Iterable[MetricExplanation]) -> str:
    """The explanation as strict JSON (`allow_nan=False`: a non-finite value is a bug here)."""
    return json.dumps([explanation_entry(e) for e in entries], allow_nan=False)


def explanation_json_rows(
    names: Sequence[str],
    order: np.ndarray,
    observed: np.ndarray,
    baseline: np.ndarray,
    z: np.ndarray,
) -> list[str]:
    """`explanation_json` of many rows at once: row i lists the metrics `order[i]` (indices
    into `names`), each with observed[i, j], baseline[j] and z[i, j].

    The same text as `explanation_json` (tests compare them), assembled from pre-formatted
    pieces: a replay writes one explanation per row, and building and encoding a dict per
    row was a tenth of its time."""
    heads = ['{"metric": ' + json.dumps(n) + ', "observed": ' for n in names]
    bases = [', "baseline": ' + _json_number(float(b), 6) + ', "robust_z": ' for b in baseline]
    out = []
    for idx, xs, zs in zip(order.tolist(), observed.tolist(), z.tolist(), strict=True):
        parts = (heads[j] + _json_number(xs[j], 6) + bases[j] + _json_z(zs[j]) for j in idx)
        out.append("[" + ", ".join(parts) + "]")
    return out


def _json_number(value: float, digits: int) -> str:
    """`_finite` as JSON text (json writes a float as its repr)."""
    return repr(round(value, digits)) if math.isfinite(value) else "null"


def _json_z(z: float) -> str:
    """A robust z's JSON value and closing brace, as `explanation_entry` writes it."""
    if math.isnan(z):
        return "null}"
    capped = min(max(z, -Z_CAP), Z_CAP)
    return repr(round(capped, 3)) + (', "z_capped": true}' if capped != z else "}")


def _unusual_first(e: MetricExplanation) -> float:
    """Sort key: largest |z| first, metrics without a z (no finite value) last."""
    return math.inf if math.isnan(e.robust_z) else -abs(e.robust_z)


def explain_baselines(
    history: pd.DataFrame, metrics: Sequence[str] = schema.METRIC_NAMES
) -> dict[str, np.ndarray]:
    """Each metric's (built-in and declared) baseline (median) and robust scale for every
    hour of day.

    The baseline is the same hour of day in the history when at least three days of it exist
    (traffic at 3 pm is not traffic at 3 am), else the whole history; a day counts in the
    history's own rows (`features.rows_per_hour`: its sample interval).
    """
    values = history[list(metrics)].to_numpy(dtype=float)
    hod = history[schema.TS].dt.hour.to_numpy()
    per_hour = rows_per_hour(history[schema.TS])
    center = np.zeros((24, values.shape[1]))
    scale = np.zeros_like(center)
    overall = _explain_stats(values)
    for h in range(24):
        sel = hod == h
        enough = sel.sum() >= 3 * per_hour * 0.8
        center[h], scale[h] = _explain_stats(values[sel]) if enough else overall
    return {"hod_center": center, "hod_scale": scale}


def _explain_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # quiet minutes: a metric may be null in every row
        warnings.simplefilter("ignore", RuntimeWarning)
        median = column_medians(values) if len(values) else np.full(values.shape[1], np.nan)
        mad = column_medians(np.abs(values - median)) * 1.4826 if len(values) else median
    return median, np.maximum.reduce([mad, 0.01 * np.abs(median), np.full_like(median, 1e-9)])


def explain(
    hour_rows: pd.DataFrame,
    history: pd.DataFrame,
    hour: datetime,
    metrics: Sequence[str] = schema.METRIC_NAMES,
) -> list[MetricExplanation]:
    """Each metric's hourly median against its baseline for that hour of day, most unusual
    first (see `explain_baselines`)."""
    base = explain_baselines(history, metrics)
    center, scale = base["hod_center"][hour.hour], base["hod_scale"][hour.hour]
    return explain_with(hour_rows, center, scale, metrics)


def explain_with(
    hour_rows: pd.DataFrame,
    center: np.ndarray,
    scale: np.ndarray,
    metrics: Sequence[str] = schema.METRIC_NAMES,
) -> list[MetricExplanation]:
    """Each metric's hourly median against a given baseline, most unusual first (`metrics`:
    the ones the baseline was made of, in its order)."""
    with warnings.catch_warnings():  # a metric null in every (quiet) minute: nan, no warning
        warnings.simplefilter("ignore", RuntimeWarning)
        values = hour_rows[list(metrics)].to_numpy(dtype=float)
        observed = column_medians(values)
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 against a scale of 1e-9: inf
        z = (observed - center) / scale
    out = [
        MetricExplanation(name, float(o), float(c), float(zz))
        for name, o, c, zz in zip(metrics, observed, center, z, strict=True)
    ]
    out.sort(key=_unusual_first)
    return out
