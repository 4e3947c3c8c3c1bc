"""The incident kinds the simulator injects, where they go, and what each does to the metrics.

The canonical incidents of models 0..6 are fixed (the demo and the tests replay them); extra
ones on the other models are drawn from a fleet-level stream. Magnitudes are drawn when
planned, and surges are finalised against the model's demand (`apply_surge`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from modelwatch.sim.params import (
    PEAK_HOUR_UTC,
    Z_ERR,
    FloatArray,
    IntArray,
    ModelParams,
    capacity_per_replica,
    fleet_rng,
)

INCIDENT_KINDS: tuple[str, ...] = (
    "traffic_surge",
    "latency_regression",
    "error_burst",
    "memory_leak",
    "prediction_drift",
    "silent_outage",
    "bad_data",
)

#: The canonical incidents of models 0..6: (kind, start hour, end hour) on the incident day.
CANONICAL_INCIDENTS: tuple[tuple[str, int, int], ...] = (
    ("traffic_surge", 9, 13),
    ("latency_regression", 14, 20),
    ("error_burst", 17, 19),
    ("memory_leak", 4, 12),
    ("prediction_drift", 6, 14),
    ("silent_outage", 20, 22),
    ("bad_data", 15, 16),
)


@dataclass
class Incident:
    """One planned incident; magnitude/detail are finalised once the metrics exist."""

    model: int
    kind: str
    start: int  # minute index into the grid
    end: int  # exclusive
    magnitude: float = 0.0
    detail: str = ""
    drop: IntArray | None = None  # minutes removed (silent_outage)
    negative: IntArray | None = None  # bad_data: minutes with negated latency_p50_ms
    null_id: IntArray | None = None  # bad_data: minutes whose model_id is null
    duplicate: IntArray | None = None  # bad_data: minutes emitted twice
    extra: dict[str, float] = field(default_factory=dict)


def plan_incidents(
    n: int, seed: int, extra_share: float, day0: int, params: ModelParams
) -> list[Incident]:
    """Canonical incidents for models 0..6, then floor(share*(n-7)) random ones on models >= 7,
    all on the incident day starting at grid minute `day0`.

    Mutates `params` for surge models (see `make_incident`)."""
    rng = fleet_rng(seed, 2)
    incidents = [
        make_incident(i, kind, day0, start_h, end_h, params, rng)
        for i, (kind, start_h, end_h) in enumerate(CANONICAL_INCIDENTS[: min(n, 7)])
    ]
    n_extra = math.floor(extra_share * (n - 7) + 1e-9) if n > 7 else 0
    if n_extra:
        rng = fleet_rng(seed, 3)
        for i in np.sort(rng.choice(np.arange(7, n), size=n_extra, replace=False)):
            kind = INCIDENT_KINDS[int(rng.integers(0, 5))]
            hours = int(rng.integers(2, 6))
            if kind == "traffic_surge":
                # Surges hit in the model's busy hours (within 3 h of its daily peak): a night-time
                # surge would need a far bigger multiplier than 2.5..3 to saturate anything.
                centre = params.peak_hour[i] + rng.uniform(-3.0, 3.0)
                start_h = int(np.clip(round(centre - hours / 2), 0, 24 - hours))
            else:
                start_h = int(rng.integers(0, 24 - hours + 1))
            incidents.append(
                make_incident(int(i), kind, day0, start_h, start_h + hours, params, rng)
            )
    return incidents


def make_incident(
    i: int,
    kind: str,
    day0: int,
    start_h: int,
    end_h: int,
    params: ModelParams,
    rng: np.random.Generator,
) -> Incident:
    """One incident with its drawn magnitude (or, for bad data, the affected minutes)."""
    inc = Incident(model=i, kind=kind, start=day0 + 60 * start_h, end=day0 + 60 * end_h)
    width = inc.end - inc.start
    if kind == "traffic_surge":
        inc.magnitude = float(rng.uniform(2.5, 3.0))
        # A surge only saturates a service that already runs warm: put its weekday peak at the
        # top of the normal band, and the canonical one's daily peak inside its window (11:00).
        params.rho_peak[i] = rng.uniform(0.58, 0.65)
        if i == 0:
            params.peak_hour[i] = PEAK_HOUR_UTC - 4.0
        params.capacity[i] = capacity_per_replica(
            params.base_rate[i], params.amp[i], params.replicas[i], params.rho_peak[i]
        )
    elif kind == "latency_regression":
        inc.magnitude = 1.8
    elif kind == "error_burst":
        inc.magnitude = float(rng.uniform(0.07, 0.12))
    elif kind == "memory_leak":
        inc.magnitude = float(rng.uniform(0.94, 0.96))
    elif kind == "prediction_drift":
        inc.magnitude = 6.0
    elif kind == "silent_outage":
        inc.drop = np.arange(inc.start, inc.end, dtype=np.int64)
    elif kind == "bad_data":
        minutes = inc.start + rng.permutation(width).astype(np.int64)
        n_neg, n_null, n_dup = (max(1, round(f * width)) for f in (0.10, 0.05, 0.10))
        inc.negative = np.sort(minutes[:n_neg])
        inc.null_id = np.sort(minutes[n_neg : n_neg + n_null])
        inc.duplicate = np.sort(minutes[n_neg + n_null : n_neg + n_null + n_dup])
    else:
        raise ValueError(f"unknown incident kind {kind!r}; known: {', '.join(INCIDENT_KINDS)}")
    return inc


def apply_surge(inc: Incident, demand: FloatArray, total_capacity: float) -> None:
    """Multiply demand by m, ramping up over 15 min and down over the last 10 min. m is the drawn
    2.5..3 unless that would leave utilisation under 1.15 somewhere in the hold (a quiet hour or
    a weekend): then m is raised just enough, because a surge that does not saturate is no
    incident. The final m goes into the detail."""
    width = inc.end - inc.start
    window = demand[inc.start : inc.end]
    hold = window[15 : width - 10]
    rho_min = float(hold.min()) / total_capacity
    m = max(inc.magnitude, 1.15 / rho_min)
    step = np.arange(width, dtype=np.float64)
    ramp = np.minimum(np.minimum((step + 1.0) / 15.0, (width - step) / 10.0), 1.0)
    window *= 1.0 + (m - 1.0) * ramp
    inc.magnitude = m
    inc.extra["rho_max"] = float(window.max()) / total_capacity


def apply_incident(
    inc: Incident, j: int, out: dict[str, FloatArray], p: ModelParams, z: FloatArray
) -> None:
    """The non-demand incident mechanics on row j of the block (z: that model's noise)."""
    w = slice(inc.start, inc.end)
    width = inc.end - inc.start
    frac = np.arange(1, width + 1, dtype=np.float64) / width  # reaches 1 on the last minute
    i = inc.model
    if inc.kind == "latency_regression":
        for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
            out[name][j, w] *= inc.magnitude
    elif inc.kind == "error_burst":
        burst = inc.magnitude * np.exp(0.1 * z[Z_ERR, w])
        out["error_rate"][j, w] = np.clip(burst, 0.05, 0.15)
    elif inc.kind == "memory_leak":
        out["memory_util"][j, w] += (inc.magnitude - p.base_memory[i]) * frac
    elif inc.kind == "prediction_drift":
        # Drift over the first half of the window, then hold; the fix at the end is a step back.
        drift = np.minimum(2.0 * frac, 1.0) * (inc.magnitude * p.pred_sigma[i])
        out["prediction_mean"][j, w] += drift


def incident_detail(inc: Incident, p: ModelParams) -> str:
    """A short human description, as the incidents table shows it."""
    v = int(p.version[inc.model])
    i = inc.model
    if inc.kind == "traffic_surge":
        return f"demand x{inc.magnitude:.1f} (utilisation up to {inc.extra['rho_max']:.2f})"
    if inc.kind == "latency_regression":
        return f"v{v} -> v{v + 1}: latency x{inc.magnitude:.1f}; rolled back at end"
    if inc.kind == "error_burst":
        return f"v{v} -> v{v + 1}: error rate ~{inc.magnitude:.0%}; rolled back at end"
    if inc.kind == "memory_leak":
        return f"memory {p.base_memory[i]:.2f} -> {inc.magnitude:.2f}; restart at end"
    if inc.kind == "prediction_drift":
        shift = inc.magnitude * p.pred_sigma[i]
        before, after = p.pred_base[i], p.pred_base[i] + shift
        return f"prediction_mean +{inc.magnitude:.0f} sd ({before:.3f} -> {after:.3f})"
    if inc.kind == "silent_outage":
        return f"no rows for {inc.end - inc.start} min"
    assert inc.negative is not None and inc.null_id is not None and inc.duplicate is not None
    return (
        f"{len(inc.negative)} negative latency_p50_ms, {len(inc.null_id)} null model_id, "
        f"{len(inc.duplicate)} duplicated rows"
    )


def incidents_frame(
    incidents: list[Incident], ids: list[str], ts: NDArray[np.datetime64]
) -> pd.DataFrame:
    """The incidents table (ground truth): model, kind, [start, end) and detail."""
    return pd.DataFrame(
        {
            "model_id": pd.array([ids[inc.model] for inc in incidents], dtype="str"),
            "kind": pd.array([inc.kind for inc in incidents], dtype="str"),
            "start": ts[[inc.start for inc in incidents]],
            "end": np.array([ts[inc.end - 1] for inc in incidents], dtype="datetime64[us]")
            + np.timedelta64(1, "m"),
            "detail": pd.array([inc.detail for inc in incidents], dtype="str"),
        }
    )
