"""A deterministic, realistic simulator of a fleet of deployed ML models.

Why it exists: the demo, the tests and the benchmarks need `model_metrics` rows that behave like
real serving telemetry (daily and weekly seasonality, queueing latency, saturation) with known,
labelled incidents on one "incident day", so that every detector can be checked against ground
truth. Everything is a (models x minutes) numpy array; the only Python loops run over blocks of
models and over the handful of incidents, never over rows or minutes.

Each model draws its parameters and noise from its own seed stream (derived from the fleet seed
and the model's index), so a model's healthy series is the same whatever the fleet size; the
fleet-level stream only decides teams, tiers and the incident plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from scipy.signal import lfilter

from modelwatch.schema import ALL_COLUMNS, METRIC_NAMES, MODEL_ID, MODEL_VERSION, TS

#: End of the simulated period (exclusive), naive UTC.
DEMO_END: datetime = datetime(2026, 11, 2, 0, 0)
#: The incident day the demo replays hour by hour (2026-11-01, a Sunday).
DEMO_DAY: datetime = DEMO_END - timedelta(days=1)

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

TEAMS: tuple[str, ...] = ("search", "ads", "risk", "vision", "recs")

MINUTES_PER_DAY = 1440
_US_PER_MINUTE = 60_000_000

# Physics constants. Named so a reader can see which knob produces which look.
_PEAK_HOUR_UTC = 15.0  # mean daily peak; each model is shifted by up to +-4 h
_SECOND_HARMONIC = 0.15  # sharpens the afternoon peak and flattens the night trough
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

# Noise streams drawn per model, one row of T minutes each.
(
    _Z_RATE_AR,
    _Z_RATE_WHITE,
    _Z_P50,
    _Z_P95,
    _Z_P99,
    _Z_ERR,
    _Z_CPU,
    _Z_MEM_AR,
    _Z_MEM_WHITE,
    _Z_PRED_AR,
    _Z_PRED_WHITE,
) = range(11)
_N_STREAMS = 11

#: Models simulated together: big enough to amortise numpy call overhead, small enough that the
#: block's temporaries (about 20 arrays of block x minutes) stay in the tens of megabytes.
_BLOCK = 32

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class FleetSpec:
    """What to simulate: fleet size, period, seed and how many extra incidents."""

    n_models: int = 24
    days: int = 15  # days of 1-minute data ending at `end` (history + the incident day)
    end: datetime = DEMO_END
    seed: int = 7
    extra_incident_share: float = 0.05  # of the models beyond the canonical 7; floor()ed


@dataclass
class Fleet:
    """The simulated telemetry plus its ground truth (incidents) and inventory (models)."""

    metrics: pd.DataFrame
    incidents: pd.DataFrame
    models: pd.DataFrame


def model_ids(n: int) -> list[str]:
    """Ids that sort lexicographically in numeric order ("model-000", ..., 4+ digits if n>1000)."""
    width = max(3, len(str(max(n - 1, 0))))
    return [f"model-{i:0{width}d}" for i in range(n)]


# --------------------------------------------------------------------------------------------
# Internal plan


@dataclass(frozen=True)
class _Params:
    """Per-model physical parameters, one array entry per model."""

    base_rate: FloatArray  # daily mean demand, req/s
    amp: FloatArray  # daily seasonality amplitude
    peak_hour: FloatArray  # UTC hour of the daily peak
    weekend_depth: FloatArray  # weekend demand reduction
    replicas: IntArray
    rho_peak: FloatArray  # utilisation at the expected weekday peak
    capacity: FloatArray  # req/s one replica serves at rho = 1
    base_latency: FloatArray  # ms, service time at zero load
    queue_a: FloatArray  # weight of the rho/(1-rho) queueing term
    r95: FloatArray  # p95/p50
    r99: FloatArray  # p99/p95
    base_error: FloatArray
    base_memory: FloatArray
    pred_base: FloatArray
    pred_sigma: FloatArray  # total noise std of prediction_mean
    version: IntArray


@dataclass
class _Incident:
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


@dataclass(frozen=True)
class _Grid:
    """The minute grid shared by all models, with its calendar features precomputed."""

    ts: NDArray[np.datetime64]  # (T,) datetime64[us]
    cos_h: FloatArray  # cos/sin of the hour-of-day angle
    sin_h: FloatArray
    weekend: FloatArray  # smoothed weekend indicator in [0, 1]
    day0: int  # index of the first minute of the incident day

    @property
    def n(self) -> int:
        return int(self.ts.shape[0])


def _validate(spec: FleetSpec) -> datetime:
    """Reject specs the physics cannot honour; return `end` as naive UTC."""
    if spec.n_models < 1:
        raise ValueError(f"n_models must be >= 1, got {spec.n_models}")
    if spec.days < 1:
        raise ValueError(f"days must be >= 1 (the incident day), got {spec.days}")
    if not 0.0 <= spec.extra_incident_share <= 1.0:
        raise ValueError(f"extra_incident_share must be in [0, 1], got {spec.extra_incident_share}")
    end = spec.end
    if end.tzinfo is not None:
        end = end.astimezone(UTC).replace(tzinfo=None)
    if end.second or end.microsecond:
        raise ValueError(f"end must be minute-aligned, got {end.isoformat()}")
    return end


def _model_rng(seed: int, i: int) -> np.random.Generator:
    """Model i's own stream: independent of fleet size, so model i is the same in any fleet."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, i)))


def _fleet_rng(seed: int, purpose: int) -> np.random.Generator:
    """A fleet-level stream, disjoint from the model streams. One per purpose (1: inventory,
    2: canonical incidents, 3: extra incidents), so the canonical incidents do not change with
    the fleet size or the extra-incident share."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose,)))


def _make_grid(end: datetime, days: int) -> _Grid:
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
    return _Grid(
        ts=ts, cos_h=np.cos(angle), sin_h=np.sin(angle), weekend=weekend, day0=n - MINUTES_PER_DAY
    )


def _draw_params(gens: list[np.random.Generator]) -> _Params:
    """Each model's physics from its own stream (a fixed order of scalar draws per model)."""
    n = len(gens)
    raw = np.empty((n, 15))
    for i, g in enumerate(gens):
        raw[i] = (
            g.lognormal(math.log(50.0), 1.0),  # base rate
            g.uniform(0.35, 0.55),  # seasonal amplitude
            g.uniform(-4.0, 4.0),  # phase offset, hours
            g.uniform(0.10, 0.30),  # weekend depth
            g.normal(0.0, 1.2),  # replica jitter
            g.uniform(0.35, 0.65),  # peak utilisation
            g.uniform(math.log(15.0), math.log(150.0)),  # log base latency
            g.uniform(0.2, 0.4),  # queueing weight
            g.uniform(1.8, 2.5),  # p95/p50
            g.uniform(1.4, 2.0),  # p99/p95
            g.uniform(math.log(0.001), math.log(0.01)),  # log base error
            g.uniform(0.35, 0.60),  # base memory
            g.uniform(0.10, 0.80),  # prediction base
            g.uniform(math.log(0.003), math.log(0.02)),  # log prediction noise
            g.integers(1, 10),  # first version
        )
    base_rate = np.clip(raw[:, 0], 5.0, 500.0)
    # Bigger services run more replicas: replicas follow log demand, with jitter.
    size = np.log(base_rate / 5.0) / np.log(100.0)
    replicas = np.clip(np.rint(2.0 + 10.0 * size + raw[:, 4]), 2, 12).astype(np.int64)
    amp = raw[:, 1]
    rho_peak = raw[:, 5]
    return _Params(
        base_rate=base_rate,
        amp=amp,
        peak_hour=_PEAK_HOUR_UTC + raw[:, 2],
        weekend_depth=raw[:, 3],
        replicas=replicas,
        rho_peak=rho_peak,
        capacity=_capacity(base_rate, amp, replicas, rho_peak),
        base_latency=np.exp(raw[:, 6]),
        queue_a=raw[:, 7],
        r95=raw[:, 8],
        r99=raw[:, 9],
        base_error=np.exp(raw[:, 10]),
        base_memory=raw[:, 11],
        pred_base=raw[:, 12],
        pred_sigma=np.exp(raw[:, 13]),
        version=raw[:, 14].astype(np.int64),
    )


def _capacity(
    base_rate: FloatArray, amp: FloatArray, replicas: IntArray, rho_peak: FloatArray
) -> FloatArray:
    """Per-replica capacity that puts the expected weekday peak at utilisation `rho_peak`."""
    peak_shape = 1.0 + amp * (1.0 + _SECOND_HARMONIC)  # the seasonal curve's maximum
    return base_rate * peak_shape / (replicas * rho_peak)


def _plan_incidents(spec: FleetSpec, grid: _Grid, params: _Params) -> list[_Incident]:
    """Canonical incidents for models 0..6, then floor(share*(n-7)) random ones on models >= 7.

    Mutates `params` for surge models (see `_make_incident`)."""
    n = spec.n_models
    rng = _fleet_rng(spec.seed, 2)
    incidents = [
        _make_incident(i, kind, grid.day0, start_h, end_h, params, rng)
        for i, (kind, start_h, end_h) in enumerate(CANONICAL_INCIDENTS[: min(n, 7)])
    ]
    n_extra = math.floor(spec.extra_incident_share * (n - 7) + 1e-9) if n > 7 else 0
    if n_extra:
        rng = _fleet_rng(spec.seed, 3)
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
                _make_incident(int(i), kind, grid.day0, start_h, start_h + hours, params, rng)
            )
    return incidents


def _make_incident(
    i: int,
    kind: str,
    day0: int,
    start_h: int,
    end_h: int,
    params: _Params,
    rng: np.random.Generator,
) -> _Incident:
    """One incident with its drawn magnitude (or, for bad data, the affected minutes)."""
    inc = _Incident(model=i, kind=kind, start=day0 + 60 * start_h, end=day0 + 60 * end_h)
    width = inc.end - inc.start
    if kind == "traffic_surge":
        inc.magnitude = float(rng.uniform(2.5, 3.0))
        # A surge only saturates a service that already runs warm: put its weekday peak at the
        # top of the normal band, and the canonical one's daily peak inside its window (11:00).
        params.rho_peak[i] = rng.uniform(0.58, 0.65)
        if i == 0:
            params.peak_hour[i] = _PEAK_HOUR_UTC - 4.0
        params.capacity[i] = _capacity(
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


# --------------------------------------------------------------------------------------------
# Physics


def _ar1(z: FloatArray, tau_minutes: float, sd: float) -> FloatArray:
    """Stationary AR(1) along the minute axis from standard-normal innovations (started in the
    stationary distribution, so the first day looks like any other)."""
    phi = math.exp(-1.0 / tau_minutes)
    x = z * (sd * math.sqrt(1.0 - phi * phi))
    x[:, 0] = z[:, 0] * sd
    return lfilter([1.0], [1.0, -phi], x, axis=1)


def _simulate_block(
    p: _Params, lo: int, hi: int, grid: _Grid, z: NDArray[np.float64], incidents: list[_Incident]
) -> dict[str, FloatArray]:
    """All metrics of models lo..hi-1 as (block x minutes) arrays, incidents applied."""
    sl = slice(lo, hi)

    def col(a: NDArray[np.generic]) -> NDArray[np.generic]:
        return a[sl, None]

    # Demand: daily curve (peak in each model's local afternoon) x weekend dip x slow wander.
    peak_angle = p.peak_hour[sl] * (2.0 * np.pi / 24.0)
    cos_t = grid.cos_h * np.cos(peak_angle)[:, None] + grid.sin_h * np.sin(peak_angle)[:, None]
    shape = 1.0 + col(p.amp) * (cos_t + _SECOND_HARMONIC * (2.0 * cos_t * cos_t - 1.0))
    demand = col(p.base_rate) * shape
    demand *= 1.0 - col(p.weekend_depth) * grid.weekend
    demand *= np.exp(_ar1(z[:, _Z_RATE_AR], _RATE_AR_TAU_MIN, _RATE_AR_SD))

    total_capacity = col(p.replicas * p.capacity)
    for inc in incidents:
        if inc.kind == "traffic_surge":
            _apply_surge(inc, demand[inc.model - lo], float(total_capacity[inc.model - lo, 0]))

    # Utilisation follows the true demand; the reported rate adds per-minute counting noise.
    rho = demand / total_capacity
    white_sd = np.sqrt(_RATE_WHITE_SD**2 + 1.0 / (60.0 * p.base_rate[sl]))[:, None]
    request_rate = demand * np.exp(white_sd * z[:, _Z_RATE_WHITE])

    # Latency: M/M/1-like queueing curve, rho capped so it stays finite, plus an overload term
    # (the queue keeps growing while demand exceeds capacity) and a client timeout.
    r = np.minimum(rho, _RHO_CAP)
    overload = np.maximum(rho - 1.0, 0.0)
    p50 = col(p.base_latency) * (1.0 + col(p.queue_a) * (r / (1.0 - r))) * (1.0 + overload)
    p50 *= np.exp(0.04 * z[:, _Z_P50])
    p95 = p50 * col(p.r95) * np.exp(0.05 * z[:, _Z_P95])
    p99 = p95 * col(p.r99) * np.exp(0.05 * z[:, _Z_P99])

    # Errors: background failures, timeouts from rho > 0.9, and shed load above capacity.
    err = col(p.base_error) * np.exp(_ERR_NOISE_SD * z[:, _Z_ERR] - 0.5 * _ERR_NOISE_SD**2)
    onset = np.clip((rho - 0.9) / 0.1, 0.0, 1.0)
    err += 0.03 * onset * onset + overload / np.maximum(rho, 1.0)

    cpu = 0.05 + 0.9 * np.minimum(rho, 1.0) + _CPU_NOISE_SD * z[:, _Z_CPU]
    mem = col(p.base_memory) + _ar1(z[:, _Z_MEM_AR], _MEM_AR_TAU_MIN, _MEM_AR_SD)
    mem += _MEM_WHITE_SD * z[:, _Z_MEM_WHITE]
    pred_sd = col(p.pred_sigma) / math.sqrt(2.0)  # half the variance slow, half white
    pred = col(p.pred_base) + pred_sd * (
        _ar1(z[:, _Z_PRED_AR], _PRED_AR_TAU_MIN, 1.0) + z[:, _Z_PRED_WHITE]
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
        _apply_incident(inc, inc.model - lo, out, p, z[inc.model - lo])
    for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        np.minimum(out[name], _LATENCY_TIMEOUT_MS, out=out[name])
    for name in ("error_rate", "cpu_util", "memory_util"):
        np.clip(out[name], 0.0, 1.0, out=out[name])
    for inc in incidents:
        if inc.negative is not None:  # bad data: a broken exporter writes negative latencies
            out["latency_p50_ms"][inc.model - lo, inc.negative] *= -1.0
    return out


def _apply_surge(inc: _Incident, demand: FloatArray, total_capacity: float) -> None:
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


def _apply_incident(
    inc: _Incident, j: int, out: dict[str, FloatArray], p: _Params, z: FloatArray
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
        burst = inc.magnitude * np.exp(0.1 * z[_Z_ERR, w])
        out["error_rate"][j, w] = np.clip(burst, 0.05, 0.15)
    elif inc.kind == "memory_leak":
        out["memory_util"][j, w] += (inc.magnitude - p.base_memory[i]) * frac
    elif inc.kind == "prediction_drift":
        # Drift over the first half of the window, then hold; the fix at the end is a step back.
        drift = np.minimum(2.0 * frac, 1.0) * (inc.magnitude * p.pred_sigma[i])
        out["prediction_mean"][j, w] += drift


# --------------------------------------------------------------------------------------------
# Assembly


def _row_layout(n: int, t: int, incidents: list[_Incident]) -> tuple[IntArray, dict[int, IntArray]]:
    """Row offsets per model and, for models whose rows are not exactly the grid, the grid minute
    of each of their rows (outage minutes removed, duplicates right after their originals)."""
    local: dict[int, IntArray] = {}
    for inc in incidents:
        if inc.drop is None and inc.duplicate is None:
            continue
        idx = local.get(inc.model, np.arange(t, dtype=np.int64))
        if inc.drop is not None:
            idx = idx[~np.isin(idx, inc.drop)]
        if inc.duplicate is not None:
            idx = np.sort(np.concatenate([idx, inc.duplicate]), kind="stable")
        local[inc.model] = idx
    counts = np.full(n, t, dtype=np.int64)
    for i, idx in local.items():
        counts[i] = idx.shape[0]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, local


def _write_block(
    dst: NDArray[np.generic],
    src: NDArray[np.generic],
    lo: int,
    hi: int,
    offsets: IntArray,
    local: dict[int, IntArray],
) -> None:
    """Copy a (block x minutes) array into the flat output column at the models' row ranges."""
    t = src.shape[1]
    if not any(lo <= i < hi for i in local):
        dst[offsets[lo] : offsets[hi]].reshape(hi - lo, t)[...] = src
        return
    for i in range(lo, hi):
        row = src[i - lo]
        dst[offsets[i] : offsets[i + 1]] = row if i not in local else row[local[i]]


def _rows_of(i: int, start: int, end: int, offsets: IntArray, local: dict[int, IntArray]) -> slice:
    """Output rows of model i whose minute lies in [start, end)."""
    idx = local.get(i)
    if idx is None:
        a, b = start, end
    else:
        a, b = (int(v) for v in np.searchsorted(idx, [start, end]))
    return slice(int(offsets[i]) + a, int(offsets[i]) + b)


def _strings(codes: NDArray[np.integer], values: list[str]) -> pd.api.extensions.ExtensionArray:
    """Pandas' default `str` column from integer codes (negative = null) without creating one
    Python object per row: an Arrow take of the few distinct values."""
    mask = codes < 0
    indices = pa.array(codes, mask=mask if mask.any() else None)
    arr = pc.take(pa.array(values, type=pa.large_string()), indices)
    return pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _incident_detail(inc: _Incident, p: _Params) -> str:
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


def simulate_fleet(spec: FleetSpec = FleetSpec()) -> Fleet:
    """Simulate `spec.days` of one-minute telemetry for the fleet, with labelled incidents on the
    last day (DEMO_DAY for the default `end`). Deterministic in `spec`."""
    end = _validate(spec)
    n, grid = spec.n_models, _make_grid(end, spec.days)
    t = grid.n
    gens = [_model_rng(spec.seed, i) for i in range(n)]
    params = _draw_params(gens)
    inventory_rng = _fleet_rng(spec.seed, 1)
    teams = inventory_rng.integers(0, len(TEAMS), size=n)
    critical = np.zeros(n, dtype=bool)
    critical[inventory_rng.choice(n, size=max(1, round(n / 4)), replace=False)] = True
    incidents = _plan_incidents(spec, grid, params)

    offsets, local = _row_layout(n, t, incidents)
    n_rows = int(offsets[-1])
    float_cols = [c for c in METRIC_NAMES if c != "replicas"]
    columns: dict[str, NDArray[np.generic]] = {c: np.empty(n_rows) for c in float_cols}
    ts_col = np.empty(n_rows, dtype="datetime64[us]")
    replicas_col = np.empty(n_rows, dtype=np.int64)
    by_model: dict[int, list[_Incident]] = {}
    for inc in incidents:
        by_model.setdefault(inc.model, []).append(inc)

    z = np.empty((_BLOCK, _N_STREAMS, t))
    for lo in range(0, n, _BLOCK):
        hi = min(lo + _BLOCK, n)
        for i in range(lo, hi):
            gens[i].standard_normal(out=z[i - lo])
        block_incidents = [inc for i in range(lo, hi) for inc in by_model.get(i, [])]
        block = _simulate_block(params, lo, hi, grid, z[: hi - lo], block_incidents)
        for name, arr in block.items():
            _write_block(columns[name], arr, lo, hi, offsets, local)
        _write_block(ts_col, np.broadcast_to(grid.ts, (hi - lo, t)), lo, hi, offsets, local)
        reps = np.broadcast_to(params.replicas[lo:hi, None], (hi - lo, t))
        _write_block(replicas_col, reps, lo, hi, offsets, local)

    counts = np.diff(offsets)
    id_codes = np.repeat(np.arange(n, dtype=np.int32), counts)
    version_codes = np.repeat(params.version.astype(np.int32), counts)
    for inc in incidents:
        i = inc.model
        if inc.kind in ("latency_regression", "error_burst"):  # deploy, then roll back
            version_codes[_rows_of(i, inc.start, inc.end, offsets, local)] += 1
        if inc.null_id is not None:
            for minute in inc.null_id:
                id_codes[_rows_of(i, int(minute), int(minute) + 1, offsets, local)] = -1
        inc.detail = _incident_detail(inc, params)

    ids = model_ids(n)
    versions = [f"v{k}" for k in range(int(params.version.max()) + 2)]
    data: dict[str, object] = {
        MODEL_ID: _strings(id_codes, ids),
        TS: ts_col,
        **columns,
        "replicas": replicas_col,
        MODEL_VERSION: _strings(version_codes, versions),
    }
    metrics = pd.DataFrame({c: data[c] for c in ALL_COLUMNS}, copy=False)

    incidents_df = pd.DataFrame(
        {
            MODEL_ID: pd.array([ids[inc.model] for inc in incidents], dtype="str"),
            "kind": pd.array([inc.kind for inc in incidents], dtype="str"),
            "start": grid.ts[[inc.start for inc in incidents]],
            "end": np.array([grid.ts[inc.end - 1] for inc in incidents], dtype="datetime64[us]")
            + np.timedelta64(1, "m"),
            "detail": pd.array([inc.detail for inc in incidents], dtype="str"),
        }
    )
    models_df = pd.DataFrame(
        {
            MODEL_ID: pd.array(ids, dtype="str"),
            "team": pd.array([TEAMS[k] for k in teams], dtype="str"),
            "tier": pd.array(np.where(critical, "critical", "standard").tolist(), dtype="str"),
            "base_replicas": params.replicas.copy(),
        }
    )
    return Fleet(metrics=metrics, incidents=incidents_df, models=models_df)
