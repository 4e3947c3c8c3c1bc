"""The input contract: the `model_metrics` table every step reads.

One row per model per minute. Warehouses whose columns are named differently map them onto
these names in the config (`source.columns`); nothing downstream sees the original names.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Key columns: never null, unique together.
MODEL_ID = "model_id"
TS = "ts"


@dataclass(frozen=True)
class Metric:
    """A numeric serving metric, the range a sane value lies in, and which way is bad:
    "up" (only a rise counts: latency, errors, resource use), "down" (only a fall) or "both"."""

    name: str
    unit: str
    min_value: float | None = 0.0
    max_value: float | None = None
    description: str = ""
    direction: str = "both"
    #: A model may not report it at all (a declared metric that only some models have, such as
    #: GPU use): a model-hour without any value of it is fine; one with values needs them all.
    optional: bool = False


#: Numeric metrics, in the order they are reported. Ranges are the validation gate's bounds;
#: directions are the detector's (features.py). The config may declare more
#: (`source.extra_metrics`, config/metrics.py); these nine are always there.
METRICS: tuple[Metric, ...] = (
    Metric("request_rate", "req/s", 0.0, None, "requests served per second"),
    Metric("latency_p50_ms", "ms", 0.0, None, "median request latency", "up"),
    Metric("latency_p95_ms", "ms", 0.0, None, "95th percentile request latency", "up"),
    Metric("latency_p99_ms", "ms", 0.0, None, "99th percentile request latency", "up"),
    Metric("error_rate", "fraction", 0.0, 1.0, "share of requests that failed", "up"),
    Metric("cpu_util", "fraction", 0.0, 1.0, "CPU utilisation, mean of replicas", "up"),
    Metric("memory_util", "fraction", 0.0, 1.0, "memory utilisation, mean of replicas", "up"),
    Metric("replicas", "count", 0.0, None, "serving replicas"),
    Metric("prediction_mean", "score", None, None, "mean of the model's predictions"),
)
METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)

#: Metrics that have no value in a minute without traffic (no request, no latency, no error
#: rate): null there is valid ("quiet minutes"); null while requests were served is bad data.
QUIET_NULLABLE: tuple[str, ...] = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "error_rate",
)
#: The rows where a quiet-nullable metric must be present (pandas query syntax; a null rate
#: counts as traffic, so its latencies must be there).
TRAFFIC_CONDITION = "request_rate != 0"

#: Optional descriptive column: a change of value marks a deployment (used by remediation).
MODEL_VERSION = "model_version"

REQUIRED_COLUMNS: tuple[str, ...] = (MODEL_ID, TS, *METRIC_NAMES)
ALL_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, MODEL_VERSION)

#: Rows expected per model per hour at one-minute resolution.
ROWS_PER_HOUR = 60

#: Pseudo model id for findings about the hour as a whole (e.g. rows with a null model_id).
FLEET = "__fleet__"


def metric(name: str) -> Metric:
    """Look up a metric by name, with an error that lists the valid ones."""
    for m in METRICS:
        if m.name == name:
            return m
    raise KeyError(f"unknown metric {name!r}; known metrics: {', '.join(METRIC_NAMES)}")
