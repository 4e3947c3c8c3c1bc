"""The `source` section's keys: each optional, each checked with an error naming the setting,
and reaching the sections that count samples or act on metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.config.overrides import with_detection_changes
from modelwatch.ingest.notes import fleet_notes
from tests.unit.config.test_custom_metrics import _no_config_env, load_error  # noqa: F401


def test_the_defaults_store_nothing_new() -> None:
    """The new keys stay out of the settings' dump while they hold their defaults, so every
    stored fingerprint (and detector cache key) of an existing fleet stays what it was."""
    dumped = Settings().model_dump()["source"]
    assert set(dumped) == {"table", "columns", "landing_deadline_minutes"}
    s = Settings()
    assert s.source.identity() == "model_metrics"
    assert s.validation.rows_per_hour == 60 and s.validation.staleness_minutes == 15
    assert s.detection.exclude_metrics == () and fleet_notes(s) == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("source: {kind: kafka}", "source.kind"),
        ("source: {interval: 2m}", "source.interval '2m' is not one of 15s, 30s, 1m, 5m"),
        ("source: {metrics: [cpu]}", "source.metrics: 'cpu' is not a built-in metric"),
        ("source: {metrics: [replicas]}", "must list a metric besides replicas"),
        ("source: {metrics: [cpu_util, cpu_util]}", "names a metric twice"),
        ("source: {queries: {cpu_util: up}}", "source.queries is for kind: prometheus"),
        (
            "source: {kind: prometheus, metrics: [cpu_util]}",
            "source.queries has no query for cpu_util",
        ),
        (
            "source: {kind: prometheus, metrics: [cpu_util], queries: {cpu_util: x, gpu: y}}",
            "source.queries.gpu: 'gpu' is neither a built-in metric nor declared",
        ),
        ("source: {kind: prometheus, model_label: 'a-b'}", "not a Prometheus label name"),
        ("source: {conn_id: 'a b'}", "is not an Airflow connection id"),
        (
            "source: {kind: prometheus, columns: {ts: t}, metrics: [cpu_util], "
            "queries: {cpu_util: x}}",
            "source.columns is for kind: sql",
        ),
    ],
)
def test_a_bad_source_setting_names_itself(tmp_path: Path, text: str, expected: str) -> None:
    got = load_error(tmp_path, text)
    assert expected in got and "source" in got.split(":")[2]


def test_interval_and_metric_set_reach_the_gate_and_the_detector() -> None:
    s = Settings(source={"interval": "5m", "metrics": ["cpu_util", "latency_p99_ms"]})
    assert s.validation.rows_per_hour == s.detection.rows_per_hour == 12
    assert [m.name for m in s.validation.reported_metrics] == ["latency_p99_ms", "cpu_util"]
    # every metric column still exists for the detector; the unreported ones are left out
    assert s.detection.metric_names == schema.METRIC_NAMES
    assert set(s.detection.exclude_metrics) == set(schema.METRIC_NAMES) - {
        "cpu_util",
        "latency_p99_ms",
    }
    assert s.source.identity() == "model_metrics@5m"


def test_staleness_is_never_stricter_than_one_interval() -> None:
    assert Settings(source={"interval": "1h"}).validation.staleness_minutes == 60
    assert Settings(source={"interval": "5m"}).validation.staleness_minutes == 15


def test_an_override_cannot_bring_back_a_metric_the_fleet_does_not_report() -> None:
    s = Settings(source={"metrics": ["cpu_util", "request_rate"], "interval": "10m"})
    own = with_detection_changes(s.detection, {"exclude_metrics": [], "threshold": 0.9})
    assert "memory_util" in own.exclude_metrics and own.threshold == 0.9
    assert own.rows_per_hour == 6 and own.absent_metrics == s.detection.absent_metrics


def test_a_fleet_without_some_metrics_is_told_what_it_goes_without() -> None:
    notes = fleet_notes(Settings(source={"metrics": ["cpu_util", "memory_util"]}))
    text = "\n".join(notes)
    assert "quiet minutes needs request_rate" in text
    assert "latency inhibition" in text and "scaling" in text
    assert "restart on a memory leak" not in text


def test_prometheus_needs_a_query_for_every_listed_metric_only() -> None:
    s = Settings(
        source={
            "kind": "prometheus",
            "interval": "5m",
            "metrics": ["cpu_util"],
            "queries": {"cpu_util": "avg by (model) (rate(cpu_seconds_total[5m]))"},
        }
    )
    assert s.source.connection_id == "modelwatch_prometheus"
    assert s.source.identity().startswith("prometheus:model:cpu_util=")
