"""Custom metrics in the config: a safe, unique, bounded declaration, or a load-time error;
declared once in `source`, seen by the gate and the detector; none declared changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelwatch import schema
from modelwatch.config import CONFIG_ENV, ConfigError, DetectionConfig, Settings, load_settings
from modelwatch.config.metrics import MetricSpec

GPU = {"name": "gpu_util", "unit": "fraction", "direction": "up", "min_value": 0, "max_value": 1}


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def load_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "modelwatch.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return str(info.value)


def test_a_declared_metric_reaches_the_gate_and_the_detector(tmp_path: Path) -> None:
    path = tmp_path / "modelwatch.yaml"
    path.write_text(
        "source:\n  columns: {gpu_util: gpu_busy}\n  extra_metrics:\n"
        "    - {name: gpu_util, unit: fraction, direction: up, min_value: 0, max_value: 1}\n"
        "    - {name: queue_depth, unit: requests, min_value: 0}\n"
    )
    s = load_settings(path)
    names = (*schema.METRIC_NAMES, "gpu_util", "queue_depth")
    assert s.validation.metric_names == names and s.detection.metric_names == names
    assert s.source.column("gpu_util") == "gpu_busy"
    assert s.source.all_columns[-2:] == ("gpu_util", "queue_depth")
    gpu = s.detection.metrics[len(schema.METRICS)]
    assert (gpu.direction, gpu.min_value, gpu.max_value, gpu.unit) == ("up", 0.0, 1.0, "fraction")
    assert s.detection.metrics[-1].direction == "both"  # the default


def test_none_declared_changes_no_fingerprint() -> None:
    """The settings' digest (stored in mw_runs) and the detector cache's key are the ones
    written before custom metrics existed; declaring one changes both."""
    plain, gpu = Settings(), Settings.model_validate({"source": {"extra_metrics": [GPU]}})
    assert "extra_metrics" not in plain.model_dump_json()
    assert plain.detection.metric_names == schema.METRIC_NAMES
    assert plain.digest() != gpu.digest()
    assert plain.detection == DetectionConfig()


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("{name: 'gpu util'}", "not a plain identifier"),
        ("{name: 'x; DROP TABLE mw_runs'}", "not a plain identifier"),
        ("{name: serving.gpu}", "not a plain identifier"),
        ("{name: latency_p99_ms}", "collides with a built-in column"),
        ("{name: Model_ID}", "collides with a built-in column"),
        ("{name: model_version}", "collides with a built-in column"),
        ("{name: q, min_value: 5, max_value: 1}", "must be below max_value"),
        ("{name: q, min_value: 1, max_value: 1}", "must be below max_value"),
        ("{name: q, max_value: .inf}", "finite"),
        ("{name: q, direction: sideways}", "'up', 'down' or 'both'"),
        ("{name: q, colour: red}", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_declaration_fails_at_load_time(tmp_path: Path, entry: str, says: str) -> None:
    message = load_error(tmp_path, f"source:\n  extra_metrics:\n    - {entry}\n")
    assert says in message and "extra_metrics" in message


def test_a_metric_declared_twice_fails(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, "source:\n  extra_metrics:\n    - {name: queue}\n    - {name: QUEUE}\n"
    )
    assert "'QUEUE' is declared twice" in message


def test_columns_may_map_only_declared_metrics(tmp_path: Path) -> None:
    message = load_error(tmp_path, "source:\n  columns: {gpu_util: gpu_busy}\n")
    assert "unknown column 'gpu_util'" in message


def test_with_metrics_leaves_the_original_alone() -> None:
    base = DetectionConfig()
    extended = base.with_metrics([MetricSpec(name="tokens_per_s", direction="down")])
    assert extended.metric_names[-1] == "tokens_per_s"
    assert base.metric_names == schema.METRIC_NAMES
    with pytest.raises(ValueError, match="declared twice"):
        base.with_metrics([MetricSpec(name="a"), MetricSpec(name="a")])
