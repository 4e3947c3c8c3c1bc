"""Bad input to the detect stage: a verdict with its reason, never a crash or a blind spot."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.score import (
    STATUS_INSUFFICIENT,
    STATUS_SCORED,
    detect_model,
    detect_models,
)
from modelwatch.evaluation.replay import replay
from tests.unit.detection.frames import HOUR, week_and_hour

CONSTANTS = {
    "request_rate": 100.0,
    "latency_p50_ms": 40.0,
    "latency_p95_ms": 90.0,
    "latency_p99_ms": 150.0,
    "error_rate": 0.0,
    "cpu_util": 0.4,
    "memory_util": 0.5,
    "replicas": 4.0,
    "prediction_mean": 0.3,
}


def _strict(text: str):
    def reject(constant: str) -> float:
        raise ValueError(constant)

    return json.loads(text, parse_constant=reject)


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """An overflow or invalid-value warning on bad input is a failure here."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_a_week_where_every_metric_was_constant_gives_a_verdict() -> None:
    rows, hist = week_and_hour(**CONSTANTS)
    cfg = DetectionConfig()
    same = detect_models(rows, hist, ["m"], HOUR, cfg).iloc[0]
    assert same["status"] == STATUS_SCORED and not same["is_anomaly"]
    assert 0.0 <= same["score"] < cfg.threshold
    assert all(e["robust_z"] == 0.0 for e in _strict(same["explanation"]))
    rows["latency_p99_ms"] = 600.0  # and a real change of it still pages
    moved = detect_models(rows, hist, ["m"], HOUR, cfg).iloc[0]
    assert moved["is_anomaly"] and moved["top_metrics"].startswith("latency_p99_ms")


@pytest.mark.parametrize("constant", [False, True], ids=["noisy_week", "constant_week"])
@pytest.mark.parametrize("metric", ["latency_p99_ms", "request_rate", "prediction_mean"])
def test_an_absurd_value_in_the_hour_scores_high_with_valid_json(
    metric: str, constant: bool
) -> None:
    rows, hist = week_and_hour(**(CONSTANTS if constant else {}))
    rows[metric] = 1e300
    cfg = DetectionConfig()
    out = detect_models(rows, hist, ["m"], HOUR, cfg).iloc[0]
    assert out["status"] == STATUS_SCORED and out["is_anomaly"] and out["score"] >= cfg.threshold
    expl = _strict(out["explanation"])
    assert expl[0]["metric"] == metric and expl[0]["observed"] == 1e300


@pytest.mark.parametrize("spread", [1.0, 0.0], ids=["noisy", "constant"])
def test_an_absurd_value_in_a_replayed_series_scores_high(spread: float) -> None:
    ts = pd.date_range("2026-01-01", periods=3000, freq="5min")
    value = np.random.default_rng(0).normal(10.0, spread, len(ts))
    value[2500] = 1e300
    frame = pd.DataFrame({schema.MODEL_ID: "m", schema.TS: ts, "value": value})
    out = replay(frame, DetectionConfig())
    assert out["score"].between(0.0, 1.0).all()
    assert out.loc[2500, "is_anomaly"] and out.loc[2500, "score"] == out["score"].max()
    for text in out["explanation"]:
        _strict(text)


def test_one_row_in_the_hour_gives_a_verdict_with_its_row_count() -> None:
    rows, hist = week_and_hour()
    out = detect_models(rows.iloc[:1], hist, ["m"], HOUR, DetectionConfig()).iloc[0]
    assert out["status"] == STATUS_SCORED and out["n_rows"] == 1
    assert 0.0 <= out["score"] <= 1.0 and len(_strict(out["explanation"])) == len(CONSTANTS)


def test_a_model_without_history_is_insufficient_history_not_a_crash() -> None:
    rows, hist = week_and_hour("new")
    _, other = week_and_hour("old")
    cfg = DetectionConfig()
    for history in (other, other.iloc[0:0], hist.iloc[0:0]):
        out = detect_models(rows, history, ["new", "old"], HOUR, cfg).set_index("model_id")
        assert out.loc["new", "status"] == STATUS_INSUFFICIENT
        assert out.loc["new", "n_train_rows"] == 0 and out.loc["new", "n_rows"] == 60
        assert out.loc["new", "score"] is None or pd.isna(out.loc["new", "score"])
    verdict = detect_model("new", rows, hist.iloc[0:0], HOUR, cfg)
    assert verdict.status == STATUS_INSUFFICIENT and verdict.n_rows == 60


def test_a_history_frame_without_a_single_column_is_insufficient_history() -> None:
    """An empty query result may come back without columns (or types)."""
    rows, _ = week_and_hour("new")
    empty = pd.DataFrame(columns=list(schema.REQUIRED_COLUMNS))
    out = detect_models(rows, empty, ["new"], HOUR, DetectionConfig()).iloc[0]
    assert out["status"] == STATUS_INSUFFICIENT and out["n_rows"] == 60
