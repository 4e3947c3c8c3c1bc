"""Settings: defaults, YAML overrides, and loud failures for typos and unsafe values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from modelwatch import schema
from modelwatch.config import (
    CONFIG_ENV,
    AlertRule,
    ConfigError,
    RemediationConfig,
    Settings,
    SourceConfig,
    load_settings,
)


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def write(tmp_path: Path, text: str, name: str = "modelwatch.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_error(tmp_path: Path, text: str) -> str:
    """Load `text` as a config file and return the ConfigError's message."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    return message


# -------------------------------------------------------------------------------------- defaults
def test_defaults_load_without_a_file() -> None:
    s = load_settings()
    assert s == Settings()
    assert s.source.table == "model_metrics"
    assert s.source.columns == {}
    assert s.alerts.anomaly == AlertRule(n=2, m=3, recovery_hours=2)
    assert s.alerts.receivers == ("log",)
    assert s.remediation.dry_run is True
    assert s.remediation.min_replicas <= s.remediation.max_replicas


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "")) == Settings()
    assert load_settings(write(tmp_path, "# nothing to change\n", "c.yaml")) == Settings()


def test_source_column_falls_back_to_our_name() -> None:
    source = SourceConfig(columns={"ts": "event_time"})
    assert source.column("ts") == "event_time"
    assert source.column("model_id") == "model_id"


# ------------------------------------------------------------------------------------- overrides
def test_yaml_file_overrides_only_what_it_says(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
source:
  table: analytics.serving_metrics
  columns: {ts: event_time, model_id: deployment}
detection:
  threshold: 0.9
alerts:
  anomaly: {n: 3, m: 5, recovery_hours: 4}
  receivers: [log, slack]
  channels:
    slack: {type: slack, conn_id: modelwatch_slack}
remediation:
  dry_run: false
  max_replicas: 20
shard_size: 7
""",
    )
    s = load_settings(path)
    assert s.source.table == "analytics.serving_metrics"
    assert s.source.column("ts") == "event_time"
    assert s.source.column("model_id") == "deployment"
    assert s.detection.threshold == 0.9
    assert s.alerts.anomaly == AlertRule(n=3, m=5, recovery_hours=4)
    assert s.alerts.receivers == ("log", "slack")
    assert s.remediation.dry_run is False
    assert s.remediation.max_replicas == 20
    assert s.shard_size == 7
    # Untouched settings keep their defaults, also inside partly overridden sections.
    defaults = Settings()
    assert s.validation == defaults.validation
    assert s.alerts.outage == defaults.alerts.outage
    assert s.detection.n_estimators == defaults.detection.n_estimators
    assert s.remediation.cooldown_hours == defaults.remediation.cooldown_hours


def test_env_var_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(write(tmp_path, "shard_size: 3\n")))
    assert load_settings().shard_size == 3


def test_explicit_path_beats_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(write(tmp_path, "shard_size: 3\n", "env.yaml")))
    assert load_settings(write(tmp_path, "shard_size: 4\n", "explicit.yaml")).shard_size == 4


def test_empty_env_var_means_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, "")
    assert load_settings() == Settings()


def test_the_retired_shard_keys_still_load_with_a_warning_and_do_nothing(tmp_path: Path) -> None:
    with pytest.warns(FutureWarning) as caught:
        s = load_settings(write(tmp_path, "shard_target_size: 100\nmax_shards: 2\n"))
    said = sorted(str(w.message) for w in caught)
    assert [m.split()[:4] for m in said] == [
        ["max_shards", "is", "deprecated", "and"],
        ["shard_target_size", "is", "deprecated", "and"],
    ]
    assert s == Settings()


def test_settings_are_frozen() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.shard_size = 2  # type: ignore[misc]


# ------------------------------------------------------------------------------------- rejection
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("shard_sise: 5\n", "shard_sise"),
        ("alerts:\n  recievers: [log]\n", "recievers"),
        ("remediation:\n  scale_up:\n    target_utilization: 0.5\n", "target_utilization"),
        ("detection:\n  treshold: 0.9\n", "treshold"),
    ],
)
def test_unknown_keys_are_rejected_by_name(tmp_path: Path, text: str, key: str) -> None:
    assert key in load_error(tmp_path, text)


def test_source_columns_must_map_known_columns(tmp_path: Path) -> None:
    message = load_error(tmp_path, "source:\n  columns:\n    timestamp: event_time\n")
    assert "'timestamp'" in message
    assert "unknown column" in message
    for known in schema.REQUIRED_COLUMNS:
        assert known in message


@pytest.mark.parametrize(
    "table",
    ["ts; DROP TABLE x", "metrics --", "a.b.c", "1table", "my table", "x'", 'x"', ""],
)
def test_source_table_must_be_a_plain_identifier(table: str) -> None:
    with pytest.raises(ValidationError, match="identifier"):
        SourceConfig(table=table)


@pytest.mark.parametrize("theirs", ["ts; DROP TABLE x", "event time", "s.event_time", "ts)--", ""])
def test_source_column_targets_must_be_plain_identifiers(theirs: str) -> None:
    with pytest.raises(ValidationError, match="plain identifier"):
        SourceConfig(columns={"ts": theirs})


def test_identifier_injection_in_a_file_is_a_config_error(tmp_path: Path) -> None:
    message = load_error(tmp_path, 'source:\n  columns:\n    ts: "ts; DROP TABLE x"\n')
    assert "ts; DROP TABLE x" in message
    message = load_error(tmp_path, 'source:\n  table: "model_metrics; DROP TABLE x"\n')
    assert "DROP TABLE" in message


def test_alert_rule_n_must_not_exceed_m(tmp_path: Path) -> None:
    assert AlertRule(n=3, m=3).n == 3
    with pytest.raises(ValidationError, match="n <= m"):
        AlertRule(n=4, m=3)
    message = load_error(tmp_path, "alerts:\n  anomaly: {n: 4, m: 3}\n")
    assert "n=4" in message
    assert "m=3" in message


def test_min_replicas_must_not_exceed_max_replicas(tmp_path: Path) -> None:
    assert RemediationConfig(min_replicas=5, max_replicas=5).max_replicas == 5
    with pytest.raises(ValidationError, match="min_replicas"):
        RemediationConfig(min_replicas=6, max_replicas=5)
    assert "min_replicas" in load_error(
        tmp_path, "remediation:\n  min_replicas: 9\n  max_replicas: 4\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "detection:\n  threshold: 1.5\n",
        "validation:\n  min_completeness: -0.1\n",
        "shard_size: 0\n",
        "alerts:\n  critical_score: 0\n",
        "detection:\n  top_k: 99\n",
        "remediation:\n  max_step: 0\n",
    ],
)
def test_out_of_range_values_are_rejected(tmp_path: Path, text: str) -> None:
    key = text.strip().splitlines()[-1].split(":")[0].strip()
    assert key in load_error(tmp_path, text)


# ----------------------------------------------------------------------------------- file errors
def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    message = load_error(tmp_path, "alerts: [unclosed\n  receivers: {\n")
    assert "YAML" in message


def test_a_non_mapping_file_is_rejected(tmp_path: Path) -> None:
    load_error(tmp_path, "- just\n- a list\n")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "modelwatch.yaml"
    with pytest.raises(ConfigError) as info:
        load_settings(missing)
    assert str(missing) in str(info.value)


def test_missing_file_from_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "gone.yaml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    with pytest.raises(ConfigError, match=r"gone\.yaml"):
        load_settings()


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


# ---------------------------------------------------------------------------------------- digest
def test_digest_is_stable_for_equal_settings(tmp_path: Path) -> None:
    d = Settings().digest()
    assert d == Settings().digest()
    assert isinstance(d, str)
    assert len(d) == 12
    # Spelling out a default changes nothing.
    assert load_settings(write(tmp_path, "shard_max_models: 500\n")).digest() == d


@pytest.mark.parametrize(
    "override",
    [
        {"shard_size": 51},
        {"detection": {"threshold": 0.96}},
        {"alerts": {"anomaly": {"n": 1, "m": 3}}},
        {"alerts": {"receivers": ["log", "am"], "channels": {"am": {"type": "log"}}}},
        {"remediation": {"dry_run": False}},
        {"remediation": {"scale_up": {"tolerance": 0.2}}},
        {"source": {"columns": {"ts": "event_time"}}},
    ],
)
def test_digest_changes_when_a_setting_changes(override: dict) -> None:
    assert Settings.model_validate(override).digest() != Settings().digest()
