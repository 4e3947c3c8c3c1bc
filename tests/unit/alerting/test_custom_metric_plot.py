"""An alert's plot draws the metrics its explanation names first, declared ones included;
a name read back from stored JSON is drawn only when the config knows it."""

from __future__ import annotations

import json
from datetime import datetime

from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.alerting.plots import FALLBACK_METRICS, plot_metrics
from modelwatch.config import Settings

GPU = {"name": "gpu_util", "unit": "fraction", "direction": "up", "min_value": 0, "max_value": 1}


def event(*names: str) -> AlertEvent:
    detail = json.dumps(
        [
            {"metric": n, "observed": 1.0, "baseline": 0.5, "robust_z": 9 - i}
            for i, n in enumerate(names)
        ]
    )
    return AlertEvent(
        "m:anomaly:x",
        "m",
        "anomaly",
        "firing",
        "warning",
        datetime(2026, 11, 1),
        "s",
        detail=detail,
    )


def test_a_declared_metric_is_plotted_first() -> None:
    known = Settings.model_validate({"source": {"extra_metrics": [GPU]}}).detection.metric_names
    e = event("gpu_util", "memory_util", "cpu_util")
    assert plot_metrics(e, known=known) == ["gpu_util", "memory_util", "cpu_util"]


def test_an_unknown_name_in_stored_json_is_never_plotted() -> None:
    e = event("gpu_util", "memory_util")  # gpu_util not declared in these settings
    assert plot_metrics(e, known=Settings().detection.metric_names) == ["memory_util"]
    assert plot_metrics(event("../etc/passwd")) == list(FALLBACK_METRICS)
