"""Alert lifecycle: from hourly signals to alert episodes and the events worth notifying.

An alert is an episode per (model, kind): it opens when its rule holds (n of the last m hours
had the signal, or one critical score), stays open while the signal continues, and resolves
after `recovery_hours` hours in a row without it. After a resolve the count starts afresh:
signals from before the recovery never reopen an alert, only new evidence does. Episodes are recomputed from the stored
signal history every run instead of being mutated step by step, so processing an hour once,
twice, or out of order yields the same alerts: the lifecycle is a pure function of the signals.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from modelwatch.config import AlertRule, AlertsConfig
from modelwatch.window import HOUR

ANOMALY, OUTAGE, DATA_QUALITY = "anomaly", "outage", "data_quality"
KINDS = (ANOMALY, OUTAGE, DATA_QUALITY)

FIRING, REPEATED, RESOLVED = "firing", "repeated", "resolved"

#: How far back episodes are rebuilt from signals; an episode older than this is left as stored.
LOOKBACK = timedelta(days=14)

ALERT_COLUMNS = [
    "alert_id",
    "model_id",
    "kind",
    "severity",
    "status",
    "opened_hour",
    "last_signal_hour",
    "resolved_hour",
    "peak_score",
    "summary",
    "explanation",
]


@dataclass
class Signal:
    """One hour in which one kind of trouble was seen for a model."""

    model_id: str
    hour: datetime
    kind: str
    score: float | None
    detail: str  # JSON: the explanation or the failed checks


@dataclass
class Episode:
    model_id: str
    kind: str
    opened_hour: datetime
    last_signal_hour: datetime
    resolved_hour: datetime | None
    peak_score: float | None
    detail: str

    @property
    def alert_id(self) -> str:
        return f"{self.model_id}:{self.kind}:{self.opened_hour:%Y%m%dT%H}"

    def active_at(self, hour: datetime) -> bool:
        return self.opened_hour <= hour and (
            self.resolved_hour is None or hour < self.resolved_hour
        )


def _rule(cfg: AlertsConfig, kind: str) -> AlertRule:
    return {ANOMALY: cfg.anomaly, OUTAGE: cfg.outage, DATA_QUALITY: cfg.data_quality}[kind]


def build_episodes(
    signals: list[Signal], start: datetime, end: datetime, cfg: AlertsConfig
) -> list[Episode]:
    """Replay the lifecycle rules over the hours [start, end] for every (model, kind)."""
    by_key: dict[tuple[str, str], dict[datetime, Signal]] = {}
    for s in signals:
        by_key.setdefault((s.model_id, s.kind), {})[s.hour] = s
    out: list[Episode] = []
    for (model_id, kind), hours in sorted(by_key.items()):
        rule = _rule(cfg, kind)
        recent: deque[bool] = deque(maxlen=rule.m)
        current: Episode | None = None
        healthy = 0
        h = start
        while h <= end:
            sig = hours.get(h)
            recent.append(sig is not None)
            if current is None:
                critical = (
                    kind == ANOMALY and sig is not None and (sig.score or 0) >= cfg.critical_score
                )
                if sig is not None and (sum(recent) >= rule.n or critical):
                    current = Episode(model_id, kind, h, h, None, sig.score, sig.detail)
                    healthy = 0
            elif sig is not None:
                current.last_signal_hour = h
                healthy = 0
                if sig.score is not None and (current.peak_score or -1) < sig.score:
                    current.peak_score, current.detail = sig.score, sig.detail
            else:
                healthy += 1
                if healthy >= rule.recovery_hours:
                    current.resolved_hour = h
                    out.append(current)
                    current, healthy = None, 0
                    recent.clear()
            h += HOUR
        if current is not None:
            out.append(current)
    return out


def severity(ep: Episode, cfg: AlertsConfig) -> str:
    if ep.kind == OUTAGE:
        return "critical"
    if ep.kind == ANOMALY and (ep.peak_score or 0) >= cfg.critical_score:
        return "critical"
    return "warning"


def summarise(ep: Episode, top_k: int = 3) -> str:
    """One line a human can act on: what is wrong and by how much."""
    if ep.kind == OUTAGE:
        return f"{ep.model_id}: no metrics arrived (silent outage?)"
    detail = json.loads(ep.detail or "[]")
    if ep.kind == DATA_QUALITY:
        checks = ", ".join(f"{c['check']} ({c.get('unexpected', '?')})" for c in detail[:top_k])
        return f"{ep.model_id}: data quarantined: {checks}"
    parts = [
        f"{e['metric']} {e['observed']:.4g} vs {e['baseline']:.4g} (z {e['robust_z']:+.1f})"
        for e in detail[:top_k]
    ]
    return f"{ep.model_id}: anomaly score {ep.peak_score:.3f}: " + "; ".join(parts)


def episodes_frame(episodes: list[Episode], cfg: AlertsConfig) -> pd.DataFrame:
    rows = [
        {
            "alert_id": ep.alert_id,
            "model_id": ep.model_id,
            "kind": ep.kind,
            "severity": severity(ep, cfg),
            "status": RESOLVED if ep.resolved_hour is not None else FIRING,
            "opened_hour": ep.opened_hour,
            "last_signal_hour": ep.last_signal_hour,
            "resolved_hour": ep.resolved_hour,
            "peak_score": ep.peak_score,
            "summary": summarise(ep),
            "explanation": ep.detail or "[]",
        }
        for ep in episodes
    ]
    frame = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    for col in ("opened_hour", "last_signal_hour", "resolved_hour"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    return frame


@dataclass(frozen=True)
class AlertEvent:
    alert_id: str
    model_id: str
    kind: str
    event: str
    severity: str
    hour: datetime
    summary: str


def events_at(episodes: list[Episode], hour: datetime, cfg: AlertsConfig) -> list[AlertEvent]:
    """What this hour's run should tell people about: openings, reminders and resolutions."""
    out = []
    for ep in episodes:
        event = None
        if ep.opened_hour == hour:
            event = FIRING
        elif ep.resolved_hour == hour:
            event = RESOLVED
        elif ep.active_at(hour):
            elapsed = int((hour - ep.opened_hour) / HOUR)
            if elapsed > 0 and elapsed % cfg.repeat_interval_hours == 0:
                event = REPEATED
        if event:
            out.append(
                AlertEvent(
                    ep.alert_id, ep.model_id, ep.kind, event, severity(ep, cfg), hour, summarise(ep)
                )
            )
    return out
