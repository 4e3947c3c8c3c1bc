"""A metric that never moved: float noise on it is not an anomaly, a real change is."""

from __future__ import annotations

import pytest

from modelwatch.config import DetectionConfig
from modelwatch.detection.score import STATUS_SCORED, detect_model
from tests.unit.detection.frames import HOUR, week_and_hour


@pytest.mark.parametrize("noisy", [0.3000001, 0.2999999, 0.30000000000000004])
def test_float_noise_on_a_constant_metric_does_not_page(noisy: float) -> None:
    rows, hist = week_and_hour(prediction_mean=0.3)
    rows["prediction_mean"] = noisy
    cfg = DetectionConfig()
    verdict = detect_model("m", rows, hist, HOUR, cfg)
    assert verdict.status == STATUS_SCORED
    assert verdict.score < cfg.threshold and not verdict.is_anomaly


@pytest.mark.parametrize("changed", [0.45, 0.15, 0.31])
def test_a_real_change_of_a_constant_metric_still_pages(changed: float) -> None:
    rows, hist = week_and_hour(prediction_mean=0.3)
    rows["prediction_mean"] = changed
    cfg = DetectionConfig()
    verdict = detect_model("m", rows, hist, HOUR, cfg)
    assert verdict.is_anomaly and verdict.score >= cfg.threshold
    assert verdict.explanation[0].metric == "prediction_mean"


def test_float_noise_on_a_large_constant_metric_does_not_page() -> None:
    rows, hist = week_and_hour(prediction_mean=12_345.0)
    rows["prediction_mean"] = 12_345.0 * (1 + 1e-9)
    verdict = detect_model("m", rows, hist, HOUR, DetectionConfig())
    assert not verdict.is_anomaly
