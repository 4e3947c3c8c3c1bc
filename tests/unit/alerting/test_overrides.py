"""Alerting under per-model overrides: a model's own rule opens and resolves its alerts, the
rest of the fleet keeps the fleet rule (lifecycle.build_episodes, alerting/rules.py)."""

from __future__ import annotations

from datetime import datetime

from modelwatch.alerting.lifecycle import ANOMALY, OUTAGE, Signal, build_episodes, events_at
from modelwatch.alerting.rules import alert_settings
from modelwatch.config import Settings
from modelwatch.run import HOUR

T0 = datetime(2026, 11, 1)
FAST = {"anomaly": {"n": 1, "m": 1, "recovery_hours": 1}}


def at(i: int) -> datetime:
    return T0 + i * HOUR


def anomalous(model: str, *hours: int, kind: str = ANOMALY) -> list[Signal]:
    """Signals below `critical_score` (0.97), so only the n-of-m rule can open an alert."""
    score = 0.97 if kind == ANOMALY else None
    return [Signal(model, at(i), kind, score, "[]") for i in hours]


def settings(*entries: dict) -> Settings:
    return Settings.model_validate({"overrides": list(entries)})


def pages(episodes, model: str) -> list[tuple[int, str]]:
    """(hour, event) of every firing, repeat and resolve of the model over 24 hours."""
    cfg = Settings().alerts
    return [
        (i, e.event)
        for i in range(25)
        for e in events_at(episodes, at(i), cfg)
        if e.model_id == model
    ]


def test_a_one_of_one_rule_pages_on_the_first_hour_where_the_fleet_rule_waits() -> None:
    s = settings({"match": {"model_id": "fast"}, "alerts": FAST})
    signals = anomalous("fast", 3, 4) + anomalous("fleet", 3, 4)
    rules = alert_settings(s, ["fast", "fleet"], {})
    assert set(rules) == {"fast"}
    eps = build_episodes(signals, T0, at(24), s.alerts, per_model=rules)
    assert pages(eps, "fast") == [(3, "firing"), (5, "resolved")]
    assert pages(eps, "fleet") == [(4, "firing"), (6, "resolved")]  # 2 of 3, 2 clean hours


def test_a_stricter_rule_keeps_a_short_blip_quiet() -> None:
    s = settings({"match": {"tier": "batch"}, "alerts": {"anomaly": {"n": 3, "m": 3}}})
    signals = anomalous("nightly", 3, 4) + anomalous("online", 3, 4)
    rules = alert_settings(s, ["nightly", "online"], {"nightly": {"tier": "batch"}})
    eps = build_episodes(signals, T0, at(24), s.alerts, per_model=rules)
    assert pages(eps, "nightly") == []
    assert pages(eps, "online") == [(4, "firing"), (6, "resolved")]


def test_rules_are_per_kind() -> None:
    s = settings({"match": {"team": "ads"}, "alerts": {"outage": {"n": 2, "m": 2}}})
    signals = anomalous("ad-1", 3, kind=OUTAGE) + anomalous("ad-1", 8, 9)
    rules = alert_settings(s, ["ad-1"], {"ad-1": {"team": "ads"}})
    eps = build_episodes(signals, T0, at(24), s.alerts, per_model=rules)
    assert [(e.kind, e.opened_hour) for e in eps] == [(ANOMALY, at(9))]  # outage: 1 h < 2 of 2


def test_without_overrides_nothing_is_resolved_per_model() -> None:
    assert alert_settings(Settings(), ["a", "b"], {"a": {"team": "ads"}}) == {}
