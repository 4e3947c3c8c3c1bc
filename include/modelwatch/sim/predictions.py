"""Simulated prediction samples (and their labels) for every model: opt-in, own seed streams.

Real outputs move with the time of day because the traffic mix does: each model serves two
segments whose predictions differ, and the share of the second follows a daily curve (with a
small weekend tilt). The segment mix changes the distribution's shape but not its centre, which
follows the model's `pred_base` (plus the prediction_drift incident's shift, the same as on
`prediction_mean`). Surges bring a little more of the second segment, and deploys move the
outputs slightly: both real, both far below what should alert. One extra incident, only here:
`prediction_shape_drift` doubles a model's spread and keeps its mean, so only the
distribution tests can see it.

Every model draws from its own stream (`spawn_key=(4, i)`), disjoint from the metric streams:
the metric rows of a seed are the same with or without predictions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from modelwatch.sim.incidents import Incident, incidents_frame
from modelwatch.sim.params import ModelParams

#: The shape-drift incident: (kind, model index, start hour, end hour) on the incident day.
SHAPE_DRIFT = ("prediction_shape_drift", 7, 13, 21)
_PURPOSE = 4
_US_PER_S = 1_000_000


def prediction_rng(seed: int, i: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PURPOSE, i)))


def shape_drift_incident(n: int, day0: int) -> Incident | None:
    """The opt-in shape-drift incident, when the fleet has its model."""
    kind, model, start_h, end_h = SHAPE_DRIFT
    if n <= model:
        return None
    inc = Incident(model=model, kind=kind, start=day0 + 60 * start_h, end=day0 + 60 * end_h)
    inc.magnitude = 2.0
    inc.detail = "prediction spread x2.0, mean unchanged"
    return inc


def _elapsed(inc: Incident, minute: NDArray[np.int64]) -> NDArray[np.float64]:
    """Per sample: 0 outside the incident, else the share of its window elapsed (0..1]."""
    inside = (minute >= inc.start) & (minute < inc.end)
    frac = (minute - inc.start + 1) / max(inc.end - inc.start, 1)
    return np.where(inside, frac, 0.0)


def simulate_predictions(
    seed: int,
    params: ModelParams,
    ids: list[str],
    hour_starts: NDArray[np.datetime64],
    weekend: NDArray[np.float64],
    incidents: list[Incident],
    per_hour: int,
    labels: bool,
) -> pd.DataFrame:
    """`per_hour` samples per model and hour (evenly spread over the hour): ts, model_id,
    prediction (and label). `weekend` is the smoothed weekend indicator at each hour."""
    n_hours = hour_starts.shape[0]
    hod = (hour_starts.astype("datetime64[h]").astype(np.int64) % 24).astype(np.float64)
    hour_idx = np.repeat(np.arange(n_hours, dtype=np.int64), per_hour)
    offset_us = (np.arange(per_hour, dtype=np.int64) * 3600 * _US_PER_S) // per_hour
    offsets = np.tile(offset_us, n_hours)
    ts = hour_starts.astype("datetime64[us]")[hour_idx] + offsets.astype("timedelta64[us]")
    minute = hour_idx * 60 + offsets // (60 * _US_PER_S)  # grid minute of each sample
    frames = []
    for i, model in enumerate(ids):
        g = prediction_rng(seed, i)
        spread = 3.0 * float(params.pred_sigma[i])
        delta = g.uniform(1.5, 3.0) * spread
        p0, amp = g.uniform(0.2, 0.4), g.uniform(0.08, 0.18)
        label_sd = g.uniform(0.5, 1.0) * spread
        angle = 2.0 * np.pi * (hod - params.peak_hour[i]) / 24.0
        share = np.clip(p0 + amp * np.cos(angle) + 0.05 * weekend, 0.02, 0.98)[hour_idx]
        centre = np.full(hour_idx.shape, float(params.pred_base[i]))
        scale = np.ones(hour_idx.shape)
        keep = np.ones(hour_idx.shape, dtype=bool)
        clean = centre.copy()
        for inc in (x for x in incidents if x.model == i):
            frac = _elapsed(inc, minute)
            on = frac > 0
            if inc.kind == "prediction_drift":  # as on prediction_mean: ramp, hold, fix
                centre += np.minimum(2.0 * frac, 1.0) * inc.magnitude * params.pred_sigma[i] * on
            elif inc.kind == "prediction_shape_drift":
                scale = np.where(on, 1.0 + (inc.magnitude - 1.0) * np.minimum(8.0 * frac, 1.0), 1.0)
            elif inc.kind == "traffic_surge":
                share = np.where(on, np.minimum(share + 0.1, 0.98), share)
            elif inc.kind in ("latency_regression", "error_burst"):  # the new version
                centre += 0.1 * spread * on
            elif inc.kind == "silent_outage":
                keep &= ~on
        z = g.standard_normal(hour_idx.shape)
        mix = delta * ((g.random(hour_idx.shape) < share) - share)
        pred = centre + scale * (mix + spread * z)
        frame = {"ts": ts[keep], "model_id": model, "prediction": pred[keep]}
        if labels:
            truth = clean + mix + spread * z + label_sd * g.standard_normal(hour_idx.shape)
            frame["label"] = truth[keep]
        frames.append(pd.DataFrame(frame))
    out = pd.concat(frames, ignore_index=True)
    out["model_id"] = out["model_id"].astype("str")
    return out


def add_predictions(
    rows: pd.DataFrame,
    ids: list[str],
    options: tuple[int, int, bool],
    params: ModelParams,
    incidents: list[Incident],
    hourly: tuple[NDArray[np.datetime64], NDArray[np.float64], int],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prediction samples (options: seed, samples per hour, labels), and the incidents
    table with the shape-drift incident added."""
    (seed, per_hour, labels), (hour_starts, weekend, day0) = options, hourly
    extra = shape_drift_incident(len(ids), day0)
    planned = [*incidents, *([extra] if extra else [])]
    predictions = simulate_predictions(
        seed, params, ids, hour_starts, weekend, planned, per_hour, labels
    )
    if extra is not None:
        ts = hour_starts[0] + np.arange(extra.end, dtype=np.int64).astype("timedelta64[m]")
        rows = pd.concat([rows, incidents_frame([extra], ids, ts)], ignore_index=True)
    return predictions, rows
