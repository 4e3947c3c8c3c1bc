"""Metrics left out of a model's detection (`detection.exclude_metrics`, usually set per model
or label in `overrides`): which features go with them, and the explanation without them.

Why features and not columns: the detector sees derived features (`features.FEATURES`), some
of which read two metrics (load per replica: traffic and replicas). A feature goes when any
metric it reads is excluded, so an excluded metric can neither score nor explain an hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from modelwatch.detection.explain import MetricExplanation
from modelwatch.detection.features import FEATURES

#: Feature -> the metrics it reads. A feature not listed reads the metric of its own name.
FEATURE_INPUTS: dict[str, tuple[str, ...]] = {
    "log_request_rate": ("request_rate",),
    "log_latency_p50": ("latency_p50_ms",),
    "log_latency_p95": ("latency_p95_ms",),
    "log_latency_p99": ("latency_p99_ms",),
    "log_error_rate": ("error_rate",),
    "cpu_util": ("cpu_util",),
    "memory_util": ("memory_util",),
    "prediction_mean": ("prediction_mean",),
    "log_load_per_replica": ("request_rate", "replicas"),
}


def kept_features(exclude: Iterable[str], features: Sequence[str] = FEATURES) -> np.ndarray | None:
    """Indices of the features that read no excluded metric; None when nothing is excluded
    (the detector then sees every feature, as the fleet's detector does)."""
    gone = set(exclude)
    if not gone:
        return None
    keep = [i for i, f in enumerate(features) if not gone & set(FEATURE_INPUTS.get(f, (f,)))]
    if not keep:
        raise ValueError(f"excluding {sorted(gone)} leaves the detector no feature")
    return np.array(keep, dtype=np.intp)


def without_metrics(
    explanation: list[MetricExplanation], exclude: Iterable[str]
) -> list[MetricExplanation]:
    """The explanation minus excluded metrics: an alert never names a metric nobody watches."""
    gone = set(exclude)
    return [e for e in explanation if e.metric not in gone] if gone else explanation
