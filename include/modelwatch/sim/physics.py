"""The physics of the simulated fleet: the minute grid every model shares and the metrics of a
block of models on it.

Demand follows each model's daily curve, the weekend and a slow wander; latency follows a
queueing curve of load per replica with an overload term and a client timeout; errors, CPU,
memory and the prediction mean follow load and their own noise. Incidents that act on the
physics (`sim.incidents`) are applied inside the block; `sim.fleet` assembles the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from modelwatch.sim.incidents import Incident, apply_incident, apply_surge
from modelwatch.sim.params import (
    SECOND_HARMONIC,
    Z_CPU,
    Z_ERR,
    Z_MEM_AR,
    Z_MEM_WHITE,
    Z_P50,
    Z_P95,
    Z_P99,
    Z_PRED_AR,
    Z_PRED_WHITE,
    Z_RATE_AR,
    Z_RATE_WHITE,
    FloatArray,
    ModelParams,
)

MINUTES_PER_DAY = 1440
_US_PER_MINUTE = 60_000_000

_WEEKEND_RAMP_MIN = 240  # weekends fade in/out over 4 h so a weekday->weekend is no step
_RATE_AR_TAU_MIN = 90.0  # slow demand wander (log space), minutes
_RATE_AR_SD = 0.06
_RATE_WHITE_SD = 0.015  # plus Poisson counting noise of a one-minute average
_RHO_CAP = 0.97  # keeps rho/(1-rho) finite; demand above capacity still shoots latency up
_LATENCY_TIMEOUT_MS = 30_000.0  # clients give up: latencies never exceed this
_MEM_AR_TAU_MIN = 120.0
_MEM_AR_SD = 0.01
_MEM_WHITE_SD = 0.003
_PRED_AR_TAU_MIN = 30.0
_CPU_NOISE_SD = 0.015
_ERR_NOISE_SD = 0.3


@dataclass(frozen=True)
class Grid:
    """The minute grid shared by all models, with its calendar features precomputed."""

    ts: NDArray[np.datetime64]  # (T,) datetime64[us]
    cos_h: FloatArray  # cos/sin of the hour-of-day angle
    sin_h: FloatArray
    weekend: FloatArray  # smoothed weekend indicator in [0, 1]
    day0: int  # index of the first minute of the incident day

    @property
    def n(self) -> int:
        return int(self.ts.shape[0])


def make_grid(end: datetime, days: int) -> Grid:
    """Minute timestamps and the calendar curves every model shares."""
    n = days * MINUTES_PER_DAY
    end_min = int(np.datetime64(end, "m").astype(np.int64))
    minutes = np.arange(end_min - n, end_min, dtype=np.int64)  # minutes since the epoch
    ts = (minutes * _US_PER_MINUTE).view("datetime64[us]")
    angle = (minutes % MINUTES_PER_DAY) * (2.0 * np.pi / MINUTES_PER_DAY)
    # Weekend indicator (Sat, Sun; 1970-01-01 was a Thursday) smoothed by a centred moving
    # average, so demand glides into the weekend instead of stepping at midnight.
    half = _WEEKEND_RAMP_MIN // 2
    ext = np.arange(minutes[0] - half, minutes[-1] + half + 1, dtype=np.int64)
    is_weekend = ((ext // MINUTES_PER_DAY + 3) % 7 >= 5).astype(np.float64)
    csum = np.concatenate(([0.0], np.cumsum(is_weekend)))
    weekend = (csum[_WEEKEND_RAMP_MIN:] - csum[:-_WEEKEND_RAMP_MIN])[:n] / _WEEKEND_RAMP_MIN
    return Grid(
        ts=ts, cos_h=np.cos(angle), sin_h=np.sin(angle), weekend=weekend, day0=n - MINUTES_PER_DAY
    )


def ar1(z: FloatArray, tau_minutes: float, sd: float) -> FloatArray:
    """Stationary AR(1) along the minute axis from standard-normal innovations (started in the
    stationary distribution, so the first day looks like any other)."""
    phi = math.exp(-1.0 / tau_minutes)
    x = z * (sd * math.sqrt(1.0 - phi * phi))
    x[:, 0] = z[:, 0] * sd
    return lfilter([1.0], [1.0, -phi], x, axis=1)


def simulate_block(
    p: ModelParams, lo: int, hi: int, grid: Grid, z: NDArray[np.float64], incidents: list[Incident]
) -> dict[str, FloatArray]:
    """All metrics of models lo..hi-1 as (block x minutes) arrays, incidents applied."""
    sl = slice(lo, hi)

    def col(a: NDArray[np.generic]) -> NDArray[np.generic]:
        return a[sl, None]

    # Demand: daily curve (peak in each model's local afternoon) x weekend dip x slow wander.
    peak_angle = p.peak_hour[sl] * (2.0 * np.pi / 24.0)
    cos_t = grid.cos_h * np.cos(peak_angle)[:, None] + grid.sin_h * np.sin(peak_angle)[:, None]
    shape = 1.0 + col(p.amp) * (cos_t + SECOND_HARMONIC * (2.0 * cos_t * cos_t - 1.0))
    demand = col(p.base_rate) * shape
    demand *= 1.0 - col(p.weekend_depth) * grid.weekend
    demand *= np.exp(ar1(z[:, Z_RATE_AR], _RATE_AR_TAU_MIN, _RATE_AR_SD))

    total_capacity = col(p.replicas * p.capacity)
    for inc in incidents:
        if inc.kind == "traffic_surge":
            apply_surge(inc, demand[inc.model - lo], float(total_capacity[inc.model - lo, 0]))

    # Utilisation follows the true demand; the reported rate adds per-minute counting noise.
    rho = demand / total_capacity
    white_sd = np.sqrt(_RATE_WHITE_SD**2 + 1.0 / (60.0 * p.base_rate[sl]))[:, None]
    request_rate = demand * np.exp(white_sd * z[:, Z_RATE_WHITE])

    # Latency: M/M/1-like queueing curve, rho capped so it stays finite, plus an overload term
    # (the queue keeps growing while demand exceeds capacity) and a client timeout.
    r = np.minimum(rho, _RHO_CAP)
    overload = np.maximum(rho - 1.0, 0.0)
    p50 = col(p.base_latency) * (1.0 + col(p.queue_a) * (r / (1.0 - r))) * (1.0 + overload)
    p50 *= np.exp(0.04 * z[:, Z_P50])
    p95 = p50 * col(p.r95) * np.exp(0.05 * z[:, Z_P95])
    p99 = p95 * col(p.r99) * np.exp(0.05 * z[:, Z_P99])

    # Errors: background failures, timeouts from rho > 0.9, and shed load above capacity.
    err = col(p.base_error) * np.exp(_ERR_NOISE_SD * z[:, Z_ERR] - 0.5 * _ERR_NOISE_SD**2)
    onset = np.clip((rho - 0.9) / 0.1, 0.0, 1.0)
    err += 0.03 * onset * onset + overload / np.maximum(rho, 1.0)

    cpu = 0.05 + 0.9 * np.minimum(rho, 1.0) + _CPU_NOISE_SD * z[:, Z_CPU]
    mem = col(p.base_memory) + ar1(z[:, Z_MEM_AR], _MEM_AR_TAU_MIN, _MEM_AR_SD)
    mem += _MEM_WHITE_SD * z[:, Z_MEM_WHITE]
    pred_sd = col(p.pred_sigma) / math.sqrt(2.0)  # half the variance slow, half white
    pred = col(p.pred_base) + pred_sd * (
        ar1(z[:, Z_PRED_AR], _PRED_AR_TAU_MIN, 1.0) + z[:, Z_PRED_WHITE]
    )

    out = {
        "request_rate": request_rate,
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
        "latency_p99_ms": p99,
        "error_rate": err,
        "cpu_util": cpu,
        "memory_util": mem,
        "prediction_mean": pred,
    }
    for inc in incidents:
        apply_incident(inc, inc.model - lo, out, p, z[inc.model - lo])
    for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        np.minimum(out[name], _LATENCY_TIMEOUT_MS, out=out[name])
    for name in ("error_rate", "cpu_util", "memory_util"):
        np.clip(out[name], 0.0, 1.0, out=out[name])
    for inc in incidents:
        if inc.negative is not None:  # bad data: a broken exporter writes negative latencies
            out["latency_p50_ms"][inc.model - lo, inc.negative] *= -1.0
    return out
