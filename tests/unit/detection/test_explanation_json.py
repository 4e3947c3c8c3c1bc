"""The explanation is strict JSON: never NaN or Infinity, whatever the metrics did."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from modelwatch.config import DetectionConfig
from modelwatch.detection.explain import (
    Z_CAP,
    MetricExplanation,
    explanation_entry,
    explanation_json,
    explanation_json_rows,
)
from modelwatch.detection.score import detect_models
from modelwatch.evaluation.replay import explain_rows
from tests.unit.detection.frames import HOUR, week_and_hour


def _reject(constant: str) -> float:
    raise ValueError(f"not strict JSON: {constant}")


def strict_loads(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity (Python accepts them by default)."""
    return json.loads(text, parse_constant=_reject)


@pytest.mark.parametrize("far", [1e300, -1e300, 5.0])
def test_a_far_hour_against_a_history_with_zero_spread_gives_strict_json(far: float) -> None:
    rows, hist = week_and_hour(prediction_mean=0.0)  # zero spread: scale falls to its floor
    rows["prediction_mean"] = far
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning is a failure too
        out = detect_models(rows, hist, ["m"], HOUR, DetectionConfig())
    row = out.iloc[0].to_dict()
    json.dumps({k: row[k] for k in ("explanation", "top_metrics")}, allow_nan=False)
    expl = strict_loads(row["explanation"])
    top = expl[0]
    assert top["metric"] == "prediction_mean" and row["top_metrics"].startswith("prediction_mean")
    assert top["robust_z"] == math.copysign(Z_CAP, far) and top["z_capped"] is True
    assert top["observed"] == far and top["baseline"] == 0.0
    assert all("z_capped" not in e for e in expl[1:])  # ordinary metrics are not flagged


def test_non_finite_values_become_null_and_sort_last() -> None:
    entries = [
        MetricExplanation("a", float("nan"), 1.0, float("nan")),
        MetricExplanation("b", float("inf"), 1.0, float("inf")),
        MetricExplanation("c", 2.0, float("-inf"), 1.5),
    ]
    assert strict_loads(explanation_json(entries)) == [
        {"metric": "a", "observed": None, "baseline": 1.0, "robust_z": None},
        {"metric": "b", "observed": None, "baseline": 1.0, "robust_z": Z_CAP, "z_capped": True},
        {"metric": "c", "observed": 2.0, "baseline": None, "robust_z": 1.5},
    ]
    assert explanation_entry(entries[2])["robust_z"] == 1.5


def test_hour_rows_missing_a_metric_still_give_strict_json() -> None:
    rows, hist = week_and_hour()
    rows["memory_util"] = np.nan
    out = detect_models(rows, hist, ["m"], HOUR, DetectionConfig())
    expl = strict_loads(out.loc[0, "explanation"])
    last = expl[-1]
    assert last["metric"] == "memory_util" and last["observed"] is None
    assert last["robust_z"] is None and last["baseline"] == pytest.approx(0.5, rel=0.05)


def test_replay_explanations_are_strict_json_too() -> None:
    ts = pd.date_range("2026-01-01", periods=400, freq="5min")
    frame = pd.DataFrame({"model_id": "m", "ts": ts, "value": 0.0})
    frame.loc[350, "value"] = 1e300
    values = frame[["value"]].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        texts = explain_rows(["value"], values[:300], values, 1)
    assert strict_loads(texts[350])[0]["robust_z"] == Z_CAP


def test_many_rows_at_once_are_written_exactly_as_one_at_a_time() -> None:
    """The replay's fast path (`explanation_json_rows`) writes the same text as
    `explanation_json`, for ordinary values, non-finite ones, capped z and odd names."""
    rng = np.random.default_rng(3)
    names = ["cpu", "disk", 'we"ird\\name', "größe"]
    observed = rng.normal(size=(400, 4)) * 10.0 ** rng.integers(-8, 9, size=(400, 4))
    z = rng.normal(size=(400, 4)) * 10.0 ** rng.integers(-3, 9, size=(400, 4))
    observed[:6, 0] = [np.nan, np.inf, -np.inf, 1e300, -0.0, 0.1 + 0.2]
    z[:6, 1] = [np.nan, np.inf, -np.inf, 1e6, -1e6 - 1e-9, 2.0000004]
    baseline = np.array([0.123456789, np.nan, -1e-12, 5.0])
    order = np.argsort(-np.abs(np.nan_to_num(z)), axis=1)[:, :3]
    fast = explanation_json_rows(names, order, observed, baseline, z)
    slow = [
        explanation_json(
            MetricExplanation(names[j], float(observed[i, j]), float(baseline[j]), float(z[i, j]))
            for j in order[i]
        )
        for i in range(len(z))
    ]
    assert fast == slow
