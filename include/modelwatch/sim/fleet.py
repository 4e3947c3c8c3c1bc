"""A deterministic, realistic simulator of a fleet of deployed ML models.

Why it exists: the demo, the tests and the benchmarks need `model_metrics` rows that behave like
real serving telemetry (daily and weekly seasonality, queueing latency, saturation) with known,
labelled incidents on one "incident day", so that every detector can be checked against ground
truth. Everything is a (models x minutes) numpy array; the only Python loops run over blocks of
models and over the handful of incidents, never over rows or minutes.

Each model draws its parameters and noise from its own seed stream (derived from the fleet seed
and the model's index), so a model's healthy series is the same whatever the fleet size; the
fleet-level stream only decides teams, tiers and the incident plan. Parameters and seed streams
live in `sim.params`, the incidents in `sim.incidents`, the minute grid and the physics in
`sim.physics`; here: the assembly of the rows, a chunk of models at a time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from modelwatch.schema import ALL_COLUMNS, METRIC_NAMES, MODEL_ID, MODEL_VERSION, TS
from modelwatch.sim.incidents import (
    Incident,
    incident_detail,
    incidents_frame,
    plan_incidents,
)
from modelwatch.sim.life import LifeEvent, apply_life_events
from modelwatch.sim.params import (
    N_STREAMS,
    IntArray,
    draw_params,
    fleet_rng,
    model_rng,
)
from modelwatch.sim.physics import make_grid, simulate_block
from modelwatch.sim.predictions import add_predictions

#: End of the simulated period (exclusive), naive UTC.
DEMO_END: datetime = datetime(2026, 11, 2, 0, 0)
#: The incident day the demo replays hour by hour (2026-11-01, a Sunday).
DEMO_DAY: datetime = DEMO_END - timedelta(days=1)

TEAMS: tuple[str, ...] = ("search", "ads", "risk", "vision", "recs")

#: Models simulated together: big enough to amortise numpy call overhead, small enough that the
#: block's temporaries (about 20 arrays of block x minutes) stay in the tens of megabytes.
_BLOCK = 32
#: Models a `FleetStream` chunk holds by default: 128 models of 8 days are 1.5 M rows, about
#: 150 MB, so seeding 10,000 models never holds more than a few chunks.
CHUNK_MODELS = 128


@dataclass(frozen=True)
class FleetSpec:
    """What to simulate: fleet size, period, seed and how many extra incidents."""

    n_models: int = 24
    days: int = 15  # days of 1-minute data ending at `end` (history + the incident day)
    end: datetime = DEMO_END
    seed: int = 7
    extra_incident_share: float = 0.05  # of the models beyond the canonical 7; floor()ed
    predictions: int = 0  # opt-in: prediction samples per model-hour (see sim.predictions)
    labels: bool = False  # ... with their labels
    #: Opt-in events of a fleet's life (`sim.life`): none by default, so rows stay as pinned.
    events: tuple[LifeEvent, ...] = ()


@dataclass
class Fleet:
    """The simulated telemetry plus its ground truth (incidents) and inventory (models)."""

    metrics: pd.DataFrame
    incidents: pd.DataFrame
    models: pd.DataFrame
    predictions: pd.DataFrame | None = None  # FleetSpec.predictions > 0 only

    def metric_chunks(self) -> Iterator[pd.DataFrame]:
        """The metric rows as one chunk (what seeding reads from a fleet or a `FleetStream`)."""
        yield self.metrics


def model_ids(n: int) -> list[str]:
    """Ids that sort lexicographically in numeric order ("model-000", ..., 4+ digits if n>1000)."""
    width = max(3, len(str(max(n - 1, 0))))
    return [f"model-{i:0{width}d}" for i in range(n)]


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


# --------------------------------------------------------------------------------------------
# Assembly


def _row_layout(n: int, t: int, incidents: list[Incident]) -> tuple[IntArray, dict[int, IntArray]]:
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


def _noise_streams(seed: int, lo: int, hi: int) -> list[np.random.Generator]:
    """Models lo..hi-1's own streams, advanced past their parameter draws: where their noise
    starts (`draw_params` draws the same scalars per model whatever the models beside it)."""
    gens = [model_rng(seed, i) for i in range(lo, hi)]
    draw_params(gens)
    return gens


class FleetStream:
    """A fleet simulated a chunk of models at a time, so no whole fleet's rows sit in memory.

    `metric_chunks()` yields the metric rows of consecutive models, in the order (and with the
    values) `simulate_fleet` returns them; the whole-fleet tables are small (incidents, models,
    predictions), but the incidents and predictions are complete only once every chunk has
    been made: a traffic surge's final size is known after its model's demand is simulated.
    Chunks start at multiples of the simulation block, so each block sees the same models as
    in a whole-fleet run.
    """

    def __init__(self, spec: FleetSpec = FleetSpec(), chunk_models: int = CHUNK_MODELS) -> None:
        end = _validate(spec)
        if chunk_models < 1:
            raise ValueError(f"chunk_models must be >= 1, got {chunk_models}")
        self.spec, self.grid = spec, make_grid(end, spec.days)
        n = spec.n_models
        self.chunk_models = math.ceil(chunk_models / _BLOCK) * _BLOCK
        self.ids = model_ids(n)
        self.params = draw_params([model_rng(spec.seed, i) for i in range(n)])
        inventory_rng = fleet_rng(spec.seed, 1)
        teams = inventory_rng.integers(0, len(TEAMS), size=n)
        critical = np.zeros(n, dtype=bool)
        critical[inventory_rng.choice(n, size=max(1, round(n / 4)), replace=False)] = True
        self._incidents = plan_incidents(
            n, spec.seed, spec.extra_incident_share, self.grid.day0, self.params
        )
        self._offsets, self._local = _row_layout(n, self.grid.n, self._incidents)
        self._by_model: dict[int, list[Incident]] = {}
        for inc in self._incidents:
            self._by_model.setdefault(inc.model, []).append(inc)
        self._versions = [f"v{k}" for k in range(int(self.params.version.max()) + 2)]
        self.models = pd.DataFrame(
            {
                MODEL_ID: pd.array(self.ids, dtype="str"),
                "team": pd.array([TEAMS[k] for k in teams], dtype="str"),
                "tier": pd.array(np.where(critical, "critical", "standard").tolist(), dtype="str"),
                "base_replicas": self.params.replicas.copy(),
            }
        )
        self._tables: tuple[pd.DataFrame, pd.DataFrame | None] | None = None
        self._started = False

    def metric_chunks(self) -> Iterator[pd.DataFrame]:
        """The fleet's metric rows, `chunk_models` models a frame (once: the surge incidents
        keep what their simulation measured)."""
        if self._started:
            raise RuntimeError("a FleetStream's chunks are made once; make a new stream")
        self._started = True
        n = self.spec.n_models
        for lo in range(0, n, self.chunk_models):
            yield self._chunk(lo, min(lo + self.chunk_models, n))
        incidents = incidents_frame(self._incidents, self.ids, self.grid.ts)
        predictions = None
        if self.spec.predictions:
            options = (self.spec.seed, self.spec.predictions, self.spec.labels)
            hourly = (self.grid.ts[::60], self.grid.weekend[::60], self.grid.day0)
            predictions, incidents = add_predictions(
                incidents, self.ids, options, self.params, self._incidents, hourly
            )
        self._tables = (incidents, predictions)

    @property
    def incidents(self) -> pd.DataFrame:
        """The incidents table (ground truth), once every chunk has been made."""
        return self._finished()[0]

    @property
    def predictions(self) -> pd.DataFrame | None:
        """The prediction samples (`FleetSpec.predictions` > 0), once every chunk is made."""
        return self._finished()[1]

    def _finished(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        if self._tables is None:
            raise RuntimeError("the incidents are complete once every metric chunk is made")
        return self._tables

    def _chunk(self, lo: int, hi: int) -> pd.DataFrame:
        """The metric rows of models lo..hi-1 (row offsets relative to the chunk)."""
        spec, grid, params, local = self.spec, self.grid, self.params, self._local
        t = grid.n
        offsets = self._offsets - self._offsets[lo]
        n_rows = int(offsets[hi])
        float_cols = [c for c in METRIC_NAMES if c != "replicas"]
        columns: dict[str, NDArray[np.generic]] = {c: np.empty(n_rows) for c in float_cols}
        ts_col = np.empty(n_rows, dtype="datetime64[us]")
        replicas_col = np.empty(n_rows, dtype=np.int64)
        gens = _noise_streams(spec.seed, lo, hi)
        z = np.empty((min(_BLOCK, hi - lo), N_STREAMS, t))
        for b_lo in range(lo, hi, _BLOCK):
            b_hi = min(b_lo + _BLOCK, hi)
            for i in range(b_lo, b_hi):
                gens[i - lo].standard_normal(out=z[i - b_lo])
            block_incidents = [inc for i in range(b_lo, b_hi) for inc in self._by_model.get(i, [])]
            block = simulate_block(params, b_lo, b_hi, grid, z[: b_hi - b_lo], block_incidents)
            for name, arr in block.items():
                _write_block(columns[name], arr, b_lo, b_hi, offsets, local)
            ts_block = np.broadcast_to(grid.ts, (b_hi - b_lo, t))
            _write_block(ts_col, ts_block, b_lo, b_hi, offsets, local)
            reps = np.broadcast_to(params.replicas[b_lo:b_hi, None], (b_hi - b_lo, t))
            _write_block(replicas_col, reps, b_lo, b_hi, offsets, local)

        counts = np.diff(offsets[lo : hi + 1])
        id_codes = np.repeat(np.arange(lo, hi, dtype=np.int32), counts)
        version_codes = np.repeat(params.version[lo:hi].astype(np.int32), counts)
        for inc in (inc for i in range(lo, hi) for inc in self._by_model.get(i, [])):
            i = inc.model
            if inc.kind in ("latency_regression", "error_burst"):  # deploy, then roll back
                version_codes[_rows_of(i, inc.start, inc.end, offsets, local)] += 1
            if inc.null_id is not None:
                for minute in inc.null_id:
                    id_codes[_rows_of(i, int(minute), int(minute) + 1, offsets, local)] = -1
            inc.detail = incident_detail(inc, params)

        data: dict[str, object] = {
            MODEL_ID: _strings(id_codes, self.ids),
            TS: ts_col,
            **columns,
            "replicas": replicas_col,
            MODEL_VERSION: _strings(version_codes, self._versions),
        }
        metrics = pd.DataFrame({c: data[c] for c in ALL_COLUMNS}, copy=False)
        if spec.events:
            metrics = apply_life_events(metrics, self.ids, spec.events, spec.seed, range(lo, hi))
        return metrics


def simulate_fleet(spec: FleetSpec = FleetSpec()) -> Fleet:
    """Simulate `spec.days` of one-minute telemetry for the fleet, with labelled incidents on the
    last day (DEMO_DAY for the default `end`). Deterministic in `spec`; the whole fleet in
    memory (`FleetStream` makes the same rows a chunk at a time)."""
    stream = FleetStream(spec, chunk_models=spec.n_models)
    (metrics,) = stream.metric_chunks()
    return Fleet(
        metrics=metrics,
        incidents=stream.incidents,
        models=stream.models,
        predictions=stream.predictions,
    )
