"""Small synthetic serving-metric frames for detection's unit tests (no fleet, no warehouse)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from modelwatch import schema

#: The hour the unit tests score; the history is the week before its day began.
HOUR = datetime(2026, 11, 1, 10)
DAY = HOUR.replace(hour=0)


def serving_rows(
    model_id: str, start: datetime, minutes: int, seed: int = 0, **constant: float
) -> pd.DataFrame:
    """One-minute rows of every schema metric with a daily cycle and a little noise;
    `constant` pins metrics to a value (e.g. prediction_mean=0.3)."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=minutes, freq="1min")
    cycle = 1.0 + 0.3 * np.sin(2 * np.pi * ts.hour.to_numpy() / 24)
    noise = rng.normal(1.0, 0.03, size=(minutes, 8))
    rate = 100.0 * cycle * noise[:, 0]
    frame = pd.DataFrame(
        {
            schema.MODEL_ID: model_id,
            schema.TS: ts,
            "request_rate": rate,
            "latency_p50_ms": 40.0 * noise[:, 1],
            "latency_p95_ms": 90.0 * noise[:, 2],
            "latency_p99_ms": 150.0 * noise[:, 3],
            "error_rate": 0.002 * noise[:, 4],
            "cpu_util": 0.4 * cycle * noise[:, 5],
            "memory_util": 0.5 * noise[:, 6],
            "replicas": 4.0,
            "prediction_mean": 0.6 * noise[:, 7],
        }
    )
    for name, value in constant.items():
        frame[name] = value
    return frame


def week_and_hour(
    model_id: str = "m", seed: int = 0, **constant: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the hour's rows, the week of history before the hour's day) of one model."""
    history = serving_rows(model_id, DAY - timedelta(days=7), 7 * 24 * 60, seed, **constant)
    rows = serving_rows(model_id, HOUR, 60, seed + 1, **constant)
    return rows, history
