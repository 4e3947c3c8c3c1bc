"""Opt-in events of a fleet's ordinary life, applied to a simulated fleet's rows afterwards.

Why after the simulation: a fleet simulated without events keeps exactly its rows (the
pinned hashes), and each event draws from its own stream (`fleet_rng` purpose 10 + event
index), so adding one event never moves another's values. Kinds:

- `deploy_shift`: from `at` on, a new `model_version` whose latency is `factor` x, for good;
- `traffic_step`: from `at` on, demand x `factor`, replicas scaled with it (autoscaling), so
  load per replica and latency stay where they were;
- `retire`: no rows from `at` on; `add`: no rows before `at` (a model added mid-day);
- `low_traffic`: the model serves about `factor` req/s, counted per minute: a minute without
  a request has a rate of 0 and null latency and error rate (quiet minutes);
- `extra_metric`: the rows get the custom metric `gpu_util` (the model's CPU use plus noise),
  which from `at` on drifts `factor` up (an incident only that metric shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from modelwatch.schema import MODEL_ID, MODEL_VERSION, TS
from modelwatch.sim.params import fleet_rng

LIFE_KINDS = ("deploy_shift", "traffic_step", "retire", "add", "low_traffic", "extra_metric")
LATENCIES = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
#: The custom metric the `extra_metric` event adds.
EXTRA_METRIC = "gpu_util"


@dataclass(frozen=True)
class LifeEvent:
    """One event on one model (by index) at a time (naive UTC)."""

    kind: str
    model: int
    at: datetime
    factor: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in LIFE_KINDS:
            raise ValueError(f"unknown life event {self.kind!r}; known: {', '.join(LIFE_KINDS)}")


def apply_life_events(
    metrics: pd.DataFrame,
    ids: list[str],
    events: tuple[LifeEvent, ...],
    seed: int,
    models: range | None = None,
) -> pd.DataFrame:
    """The fleet's rows with `events` applied (a new frame; `metrics` is not changed).

    `models`: the model indices `metrics` holds when it is a chunk of the fleet; the events of
    other models are skipped, and the custom metric's column is added to every chunk of a
    fleet that has it, so the chunks' results concatenate to the whole fleet's."""
    out = metrics.copy()
    drop = np.zeros(len(out), dtype=bool)
    if any(ev.kind == "extra_metric" for ev in events) and EXTRA_METRIC not in out.columns:
        out[EXTRA_METRIC] = np.nan
    for k, ev in enumerate(events):
        if models is not None and ev.model not in models:
            continue
        rng = fleet_rng(seed, 10 + k)
        own = (out[MODEL_ID] == ids[ev.model]).to_numpy(dtype=bool, na_value=False)
        after = own & (out[TS] >= pd.Timestamp(ev.at)).to_numpy()
        if ev.kind == "deploy_shift":
            for name in LATENCIES:
                out.loc[after, name] = out.loc[after, name] * ev.factor
            version = out.loc[own, MODEL_VERSION].dropna()
            bumped = f"{version.iloc[0] if len(version) else 'v0'}-next"
            out.loc[after, MODEL_VERSION] = bumped
        elif ev.kind == "traffic_step":
            out.loc[after, "request_rate"] = out.loc[after, "request_rate"] * ev.factor
            reps = np.maximum(np.rint(out.loc[after, "replicas"] * ev.factor), 1)
            out.loc[after, "replicas"] = reps.astype(np.int64)
        elif ev.kind == "retire":
            drop |= after
        elif ev.kind == "add":
            drop |= own & ~after
        elif ev.kind == "low_traffic":
            rate = out.loc[own, "request_rate"].to_numpy(dtype=float)
            mean = max(float(np.nanmean(rate)), 1e-9)
            counts = rng.poisson(rate / mean * ev.factor * 60.0)
            out.loc[own, "request_rate"] = counts / 60.0
            quiet = own.copy()
            quiet[own] = counts == 0
            for name in (*LATENCIES, "error_rate"):
                out.loc[quiet, name] = np.nan
        elif ev.kind == "extra_metric":
            cpu = out.loc[own, "cpu_util"].to_numpy(dtype=float)
            gpu = np.clip(cpu + rng.normal(0.0, 0.01, size=len(cpu)), 0.0, 1.0)
            out.loc[own, EXTRA_METRIC] = gpu
            out.loc[after, EXTRA_METRIC] = np.clip(
                out.loc[after, EXTRA_METRIC] * ev.factor, 0.0, 1.0
            )
    return out.loc[~drop].reset_index(drop=True)
