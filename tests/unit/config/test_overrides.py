"""Per-model and per-label overrides: which entries apply, in which order, and the errors a
bad entry gets at load time (config/overrides.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelwatch.config import (
    AlertRule,
    ConfigError,
    Settings,
    alerts_for,
    detection_for,
    load_settings,
    needs_labels,
    per_model_alerts,
    per_model_detection,
)

RISK = {"team": "risk", "tier": "standard"}
ENTRIES = [
    {"match": {"team": "risk"}, "detection": {"threshold": 0.9, "exclude_metrics": ["cpu_util"]}},
    {"match": {"model_id": "fraud"}, "detection": {"threshold": 0.99}},
    {"match": {"team": "risk", "tier": "standard"}, "detection": {"threshold": 0.8}},
    {"match": {"tier": "critical"}, "alerts": {"anomaly": {"n": 1, "m": 1}}},
]


def settings(entries: list[dict] = ENTRIES) -> Settings:
    return Settings.model_validate({"overrides": entries})


def test_no_match_is_the_fleet_defaults_themselves() -> None:
    s = settings()
    assert detection_for(s.detection, s.overrides, "other", {"team": "ads"}) is s.detection
    assert alerts_for(s.alerts, s.overrides, "other", {"team": "ads"}) is s.alerts
    assert per_model_detection(s.overrides, ["other"], {}) == {}
    assert per_model_alerts(s.alerts, s.overrides, ["other"], {}) == {}


def test_a_label_entry_applies_only_when_every_matcher_holds() -> None:
    s = settings(ENTRIES[:1] + ENTRIES[2:3])
    both = detection_for(s.detection, s.overrides, "m", RISK)
    team_only = detection_for(s.detection, s.overrides, "m", {"team": "risk", "tier": "x"})
    assert both.threshold == 0.8  # the later label entry wins among label entries
    assert team_only.threshold == 0.9
    assert both.exclude_metrics == team_only.exclude_metrics == ("cpu_util",)  # merged per field


def test_a_model_id_entry_beats_a_later_label_entry() -> None:
    s = settings()
    cfg = detection_for(s.detection, s.overrides, "fraud", RISK)
    assert cfg.threshold == 0.99  # entry 1 (model id) over entry 2 (labels, later in the file)
    assert cfg.exclude_metrics == ("cpu_util",)  # still from the team entry
    assert cfg.n_estimators == s.detection.n_estimators  # everything else: fleet defaults


def test_among_model_id_entries_the_later_one_wins() -> None:
    s = settings(
        [
            {"match": {"model_id": "fraud"}, "detection": {"threshold": 0.9}},
            {"match": {"model_id": "fraud", "tier": "critical"}, "detection": {"threshold": 0.7}},
        ]
    )
    assert detection_for(s.detection, s.overrides, "fraud", {"tier": "critical"}).threshold == 0.7
    assert detection_for(s.detection, s.overrides, "fraud", {}).threshold == 0.9


def test_a_model_entry_can_give_back_a_metric_its_team_excluded() -> None:
    s = settings(
        [
            ENTRIES[0],
            {"match": {"model_id": "fraud"}, "detection": {"exclude_metrics": []}},
        ]
    )
    assert detection_for(s.detection, s.overrides, "fraud", RISK).exclude_metrics == ()
    assert detection_for(s.detection, s.overrides, "loans", RISK).exclude_metrics == ("cpu_util",)


def test_alert_rules_merge_per_kind_over_the_fleet_rule() -> None:
    s = settings(
        [
            ENTRIES[3],
            {"match": {"model_id": "fraud"}, "alerts": {"anomaly": {"recovery_hours": 5}}},
        ]
    )
    cfg = alerts_for(s.alerts, s.overrides, "fraud", {"tier": "critical"})
    assert cfg.anomaly == AlertRule(n=1, m=1, recovery_hours=5)
    assert cfg.outage == s.alerts.outage and cfg.drift == s.alerts.drift
    fleet_rule = alerts_for(s.alerts, s.overrides, "fraud", {}).anomaly
    assert (fleet_rule.n, fleet_rule.m, fleet_rule.recovery_hours) == (2, 3, 5)
    by_model = per_model_alerts(s.alerts, s.overrides, ["fraud", "x"], {"x": {"tier": "ads"}})
    assert set(by_model) == {"fraud"}


def test_labels_are_read_only_when_an_entry_matches_on_one() -> None:
    assert needs_labels(settings().overrides)
    assert not needs_labels(settings(ENTRIES[1:2]).overrides)
    assert not needs_labels(())


def test_staged_changes_are_json_safe_and_only_for_models_with_any() -> None:
    s = settings()
    out = per_model_detection(s.overrides, ["fraud", "loans", "x"], {"loans": RISK})
    assert out == {
        "fraud": {"threshold": 0.99},
        "loans": {"threshold": 0.8, "exclude_metrics": ["cpu_util"]},
    }


@pytest.mark.parametrize(
    ("entry", "where", "says"),
    [
        ({"match": {}, "detection": {"threshold": 0.9}}, "overrides[0].match", "match is empty"),
        (
            {"match": {"severity": "critical"}, "detection": {"threshold": 0.9}},
            "overrides[0].match",
            "cannot match on 'severity'",
        ),
        (
            {"match": {"team": "a"}, "detection": {"exclude_metrics": ["cpu"]}},
            "overrides[0].detection.exclude_metrics",
            "unknown metric(s) ['cpu']",
        ),
        (
            {"match": {"team": "a"}, "detection": {"threshold": 1.0}},
            "overrides[0].detection.threshold",
            "less than 1",
        ),
        (
            {"match": {"team": "a"}, "detection": {"min_history_hours": 0}},
            "overrides[0].detection.min_history_hours",
            "greater than or equal to 1",
        ),
        (
            {"match": {"team": "a"}, "alerts": {"anomaly": {"n": 3, "m": 2}}},
            "overrides[0].alerts.anomaly",
            "n <= m",
        ),
        (
            {"match": {"team": "a"}, "alerts": {"anomaly": {"n": 1}}},
            "overrides[0].alerts.anomaly",
            "n and m together",
        ),
        (
            {"match": {"team": "a"}, "alerts": {"fleet": {"n": 1, "m": 1}}},
            "overrides[0].alerts.fleet",
            "Extra inputs",
        ),
        ({"match": {"team": "a"}}, "overrides[0]", "sets nothing"),
        (
            {"match": {"team": "a"}, "detection": {"thresold": 0.9}},
            "overrides[0].detection.thresold",
            "Extra inputs",
        ),
    ],
)
def test_a_bad_entry_is_refused_naming_it(entry: dict, where: str, says: str, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"overrides": [entry]}))
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert where in str(err.value) and says in str(err.value)


def test_excluding_every_scored_metric_is_refused() -> None:
    every = ["request_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]
    every += ["error_rate", "cpu_util", "memory_util", "prediction_mean"]
    with pytest.raises(ValueError, match="leaves no metric to score"):
        settings([{"match": {"team": "a"}, "detection": {"exclude_metrics": every}}])


def test_a_label_the_labels_table_does_not_provide_is_refused() -> None:
    entry = {"match": {"owner": "ann"}, "detection": {"threshold": 0.9}}
    cols = {"team": "team", "tier": "tier"}
    with pytest.raises(ValueError, match=r"overrides\[0\]\.match\.owner"):
        Settings.model_validate({"overrides": [entry], "alerts": {"labels": {"columns": cols}}})
    no_table = {"alerts": {"labels": {"table": None}}}
    with pytest.raises(ValueError, match="would never apply"):
        Settings.model_validate({"overrides": [entry], **no_table})
    by_id = {"match": {"model_id": "m"}, "detection": {"threshold": 0.9}}
    assert Settings.model_validate({"overrides": [by_id], **no_table}).overrides


def test_the_documented_example_loads(tmp_path: Path) -> None:
    """The YAML of docs/detection.md#per-model-and-per-label-overrides is valid as written."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "detection.md").read_text()
    block = doc.split("```yaml\noverrides:", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text("overrides:" + block)
    s = load_settings(path)
    assert len(s.overrides) >= 3
    assert any(o.by_model for o in s.overrides) and needs_labels(s.overrides)


def test_a_models_changes_keep_the_declared_metrics() -> None:
    """An override rebuilds the model's detection settings; the metrics the source declares
    must survive it, or the overridden model would stop watching them."""
    from modelwatch.config import DetectionConfig, with_detection_changes
    from modelwatch.config.metrics import MetricSpec

    fleet = DetectionConfig().with_metrics([MetricSpec(name="gpu_util", direction="up")])
    own = with_detection_changes(fleet, {"threshold": 0.9, "exclude_metrics": ["memory_util"]})
    assert own.threshold == 0.9 and "gpu_util" in own.metric_names
