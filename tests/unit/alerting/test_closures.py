"""Alerts closed by a baseline move or a retirement resolve at that hour, saying why."""

from __future__ import annotations

from datetime import datetime, timedelta

from modelwatch.alerting.lifecycle import (
    ANOMALY,
    OUTAGE,
    RESOLVED,
    Closure,
    Signal,
    build_episodes,
    events_at,
)
from modelwatch.config import AlertsConfig

T0 = datetime(2026, 10, 30, 0)
H = timedelta(hours=1)
CFG = AlertsConfig()


def sig(model: str, i: int, kind: str = ANOMALY) -> Signal:
    return Signal(model, T0 + i * H, kind, 0.99 if kind == ANOMALY else None, "[]")


def test_a_baseline_move_resolves_the_anomaly_alert_with_its_reason() -> None:
    signals = [sig("m", i) for i in range(0, 6)]
    closure = Closure("m", T0 + 5 * H, "baseline moved: the new level held 5 h", (ANOMALY,))
    eps = build_episodes(signals, T0, T0 + 10 * H, CFG, [closure])
    assert len(eps) == 1 and eps[0].resolved_hour == T0 + 5 * H
    resolved = [e for e in events_at(eps, T0 + 5 * H, CFG) if e.event == RESOLVED]
    assert len(resolved) == 1 and "baseline moved" in resolved[0].summary
    # no repeat later: the alert is closed
    assert all(not events_at(eps, T0 + i * H, CFG) for i in range(6, 11))


def test_a_move_closes_only_anomaly_alerts() -> None:
    signals = [sig("m", i, OUTAGE) for i in range(0, 6)]
    closure = Closure("m", T0 + 3 * H, "baseline moved", (ANOMALY,))
    eps = build_episodes(signals, T0, T0 + 5 * H, CFG, [closure])
    assert [e.resolved_hour for e in eps] == [None]


def test_a_retirement_closes_every_kind() -> None:
    signals = [sig("m", i, OUTAGE) for i in range(0, 30)]
    closure = Closure("m", T0 + 24 * H, "model retired")
    eps = build_episodes(signals, T0, T0 + 30 * H, CFG, [closure])
    assert eps[0].resolved_hour == T0 + 24 * H and eps[0].resolution == "model retired"
