"""Per-model physical parameters and the seed streams they (and the noise) are drawn from.

Each model draws from its own stream (the fleet seed and the model's index), so a model's
healthy series is the same whatever the fleet size; fleet-level streams (inventory, incident
plan) are disjoint from the model streams. The order of the draws is part of the contract: a
change here changes every simulated row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Physics constants. Named so a reader can see which knob produces which look.
PEAK_HOUR_UTC = 15.0  # mean daily peak; each model is shifted by up to +-4 h
SECOND_HARMONIC = 0.15  # sharpens the afternoon peak and flattens the night trough

# Noise streams drawn per model, one row of T minutes each.
(
    Z_RATE_AR,
    Z_RATE_WHITE,
    Z_P50,
    Z_P95,
    Z_P99,
    Z_ERR,
    Z_CPU,
    Z_MEM_AR,
    Z_MEM_WHITE,
    Z_PRED_AR,
    Z_PRED_WHITE,
) = range(11)
N_STREAMS = 11

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class ModelParams:
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


def model_rng(seed: int, i: int) -> np.random.Generator:
    """Model i's own stream: independent of fleet size, so model i is the same in any fleet."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0, i)))


def fleet_rng(seed: int, purpose: int) -> np.random.Generator:
    """A fleet-level stream, disjoint from the model streams. One per purpose (1: inventory,
    2: canonical incidents, 3: extra incidents), so the canonical incidents do not change with
    the fleet size or the extra-incident share."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose,)))


def draw_params(gens: list[np.random.Generator]) -> ModelParams:
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
    return ModelParams(
        base_rate=base_rate,
        amp=amp,
        peak_hour=PEAK_HOUR_UTC + raw[:, 2],
        weekend_depth=raw[:, 3],
        replicas=replicas,
        rho_peak=rho_peak,
        capacity=capacity_per_replica(base_rate, amp, replicas, rho_peak),
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


def capacity_per_replica(
    base_rate: FloatArray, amp: FloatArray, replicas: IntArray, rho_peak: FloatArray
) -> FloatArray:
    """Per-replica capacity that puts the expected weekday peak at utilisation `rho_peak`."""
    peak_shape = 1.0 + amp * (1.0 + SECOND_HARMONIC)  # the seasonal curve's maximum
    return base_rate * peak_shape / (replicas * rho_peak)
