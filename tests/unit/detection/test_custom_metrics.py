"""A declared metric is a detector feature with its direction, and part of every explanation;
a detector fitted without it is never used with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.config.metrics import MetricSpec
from modelwatch.detection.cache import DetectorStore
from modelwatch.detection.detector import fit_detector
from modelwatch.detection.score import STATUS_SCORED, detect_model, detect_models
from tests.unit.detection.frames import DAY, HOUR, week_and_hour


def gpu(direction: str = "up") -> DetectionConfig:
    spec = MetricSpec(name="gpu_util", direction=direction, min_value=0.0, max_value=1.0)
    return DetectionConfig().with_metrics([spec])


def with_gpu(factor: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A week and an hour of a model whose GPU follows its CPU; the hour's GPU x `factor`."""
    rows, hist = week_and_hour()
    for frame, seed in ((hist, 1), (rows, 2)):
        noise = np.random.default_rng(seed).normal(0.0, 0.01, len(frame))
        frame["gpu_util"] = np.clip(frame["cpu_util"] + noise, 0.0, 1.0)
    rows["gpu_util"] = np.clip(rows["gpu_util"] * factor, 0.0, 1.0)
    return rows, hist


def test_a_drift_in_the_declared_metric_alone_is_anomalous_and_named_first() -> None:
    rows, hist = with_gpu(1.6)
    cfg = gpu("up")
    verdict = detect_model("m", rows, hist, HOUR, cfg)
    assert verdict.status == STATUS_SCORED and verdict.is_anomaly
    assert verdict.explanation[0].metric == "gpu_util" and verdict.explanation[0].robust_z > 5
    assert {e.metric for e in verdict.explanation} == set(cfg.metric_names)
    # undeclared, the same rows are a healthy hour: the column is not watched
    assert not detect_model("m", rows, hist, HOUR, DetectionConfig()).is_anomaly


def test_an_unchanged_declared_metric_is_a_healthy_hour() -> None:
    rows, hist = with_gpu(1.0)
    assert not detect_model("m", rows, hist, HOUR, gpu("both")).is_anomaly


@pytest.mark.parametrize(
    ("direction", "factor", "anomalous"),
    [
        ("down", 1.6, False),  # a rise of a metric that is only bad when it falls
        ("down", 0.4, True),
        ("up", 0.4, False),  # a fall of a metric that is only bad when it rises
        ("both", 0.4, True),
        ("both", 1.6, True),
    ],
)
def test_the_declared_direction_decides_which_way_counts(direction, factor, anomalous) -> None:
    rows, hist = with_gpu(factor)
    verdict = detect_model("m", rows, hist, HOUR, gpu(direction))
    assert verdict.is_anomaly is anomalous


def test_a_detector_fitted_without_the_metric_is_not_used_with_it(tmp_path: Path) -> None:
    rows, hist = with_gpu(1.6)
    plain, declared = DetectionConfig(), gpu("up")
    DetectorStore(tmp_path, plain).save("m", DAY, fit_detector(hist, plain, "m", fitted_at=DAY))
    store = DetectorStore(tmp_path, declared)
    assert store.digest != DetectorStore(tmp_path, plain).digest
    assert store.load("m", HOUR) is None  # another key: refitted, never reused
    # and a file that slipped under the key anyway is checked against the metrics it watches
    stale = fit_detector(hist, plain, "m", fitted_at=DAY)
    stale_path = store.path("m", DAY)
    DetectorStore(tmp_path, plain).save("m", DAY, stale)
    Path(DetectorStore(tmp_path, plain).path("m", DAY)).rename(stale_path)
    assert DetectorStore(tmp_path, declared).load("m", HOUR) is None
    out = detect_models(rows, hist, ["m"], HOUR, declared, store_dir=tmp_path).iloc[0]
    assert out["is_anomaly"] and out["top_metrics"].startswith("gpu_util")
    assert DetectorStore(tmp_path, declared).load("m", HOUR).metrics[-1] == "gpu_util"


def test_with_none_declared_the_detector_is_the_nine_metric_one() -> None:
    rows, hist = with_gpu(1.6)  # an extra column in the frames is not read
    det = fit_detector(hist, DetectionConfig(), "m", fitted_at=DAY)
    assert det.metrics == schema.METRIC_NAMES
    plain, _ = week_and_hour()
    assert det.hour_score(rows) == det.hour_score(plain)


def test_a_model_without_the_optional_metric_is_scored_on_the_others() -> None:
    """A CPU model of a fleet that declares GPU use: its history has no gpu_util at all, and it
    still trains and scores on the nine (a hour without the metric is no deviation)."""
    rows, hist = week_and_hour()
    rows["gpu_util"], hist["gpu_util"] = np.nan, np.nan
    healthy = detect_model("m", rows, hist, HOUR, gpu())
    assert healthy.status == STATUS_SCORED and not healthy.is_anomaly
    assert healthy.n_train_rows == len(hist)
    rows["latency_p99_ms"] *= 4  # and it still sees what the nine show
    assert detect_model("m", rows, hist, HOUR, gpu()).is_anomaly
    required = MetricSpec(name="gpu_util", min_value=0.0, max_value=1.0, required=True)
    strict = detect_model("m", rows, hist, HOUR, DetectionConfig().with_metrics([required]))
    assert strict.status != STATUS_SCORED  # required: rows without it never train


def test_excluding_a_built_in_metric_keeps_the_declared_one() -> None:
    rows, hist = with_gpu(1.6)
    cfg = gpu("up").model_copy(update={"exclude_metrics": ("memory_util",)})
    verdict = detect_model("m", rows, hist, HOUR, cfg)
    assert verdict.is_anomaly and verdict.explanation[0].metric == "gpu_util"
