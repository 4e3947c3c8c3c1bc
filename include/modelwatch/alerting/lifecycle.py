"""Alert lifecycle: from hourly signals to alert episodes and the events worth notifying.

An alert is an episode per (model, kind): it opens when its rule holds (n of the last m hours
had the signal, or one critical score), stays open while the signal continues, and resolves
after `recovery_hours` hours in a row without it. After a resolve the count starts afresh:
signals from before the recovery never reopen an alert, only new evidence does. Episodes are
recomputed from the stored signal history every run instead of being mutated step by step, so
processing an hour once, twice, or out of order yields the same alerts: the lifecycle is a pure
function of the signals.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from modelwatch.config import AlertRule, AlertsConfig
from modelwatch.run import HOUR

ANOMALY, OUTAGE, DATA_QUALITY = "anomaly", "outage", "data_quality"
#: A fleet-wide event: many models anomalous in the same hour, alerted once for the fleet.
FLEET = "fleet"
#: The model's predictions moved away from their reference (mw_drift), a slower signal.
DRIFT = "drift"
KINDS = (ANOMALY, OUTAGE, DATA_QUALITY, FLEET, DRIFT)
#: modelwatch's own trouble: a receiver that keeps failing (alerting/delivery_health.py).
DELIVERY_FAILURE = "delivery_failure"
MODELWATCH_ID = "__modelwatch__"
#: The model id of fleet incidents (the validation table's hour-wide row uses the same).
FLEET_ID = "__fleet__"
#: The gate's check on the fleet row when no model reported at all (ingest/validate.py).
FLEET_ROWS_CHECK = "rows present for any model"

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
    #: The score of the opening hour: fixes the severity the alert was raised with.
    opening_score: float | None = None
    #: Why it resolved, when not by recovery: its baseline moved, the model was retired.
    resolution: str = ""
    #: What tells apart episodes of one model and kind open at once (a failing receiver).
    key: str = ""

    @property
    def alert_id(self) -> str:
        kind = f"{self.kind}:{self.key}" if self.key else self.kind
        return f"{self.model_id}:{kind}:{self.opened_hour:%Y%m%dT%H}"

    def active_at(self, hour: datetime) -> bool:
        return self.opened_hour <= hour and (
            self.resolved_hour is None or hour < self.resolved_hour
        )


def _rule(cfg: AlertsConfig, kind: str) -> AlertRule:
    if kind == FLEET:  # the fleet signal already needs many models at once: open on one hour
        return AlertRule(n=1, m=1, recovery_hours=cfg.anomaly.recovery_hours)
    rules = {ANOMALY: cfg.anomaly, OUTAGE: cfg.outage, DATA_QUALITY: cfg.data_quality}
    return cfg.drift if kind == DRIFT else rules[kind]


@dataclass(frozen=True)
class Closure:
    """At `hour`, the model's open alerts of `kinds` (all kinds when empty) resolve for
    `reason`, and the hour starts afresh: its baseline moved, or the model was retired."""

    model_id: str
    hour: datetime
    reason: str
    kinds: tuple[str, ...] = ()


def signals_from(frame: pd.DataFrame) -> list[Signal]:
    """Stored rows (model_id, hour, kind, score, detail) as signals: a null score stays None."""
    return [
        Signal(
            r.model_id,
            pd.Timestamp(r.hour).to_pydatetime(),
            r.kind,
            None if pd.isna(r.score) else float(r.score),
            r.detail,
        )
        for r in frame.itertuples(index=False)
    ]


def build_episodes(
    signals: list[Signal],
    start: datetime,
    end: datetime,
    cfg: AlertsConfig,
    closures: list[Closure] | None = None,
    per_model: Mapping[str, AlertsConfig] | None = None,
) -> list[Episode]:
    """Replay the lifecycle rules over the hours [start, end] for every (model, kind);
    `per_model`: the alert settings of models whose overrides change their rules."""
    by_key: dict[tuple[str, str], dict[datetime, Signal]] = {}
    for s in signals:
        by_key.setdefault((s.model_id, s.kind), {})[s.hour] = s
    closing: dict[tuple[str, str], dict[datetime, str]] = {}
    for c in closures or []:
        for kind in c.kinds or KINDS:
            closing.setdefault((c.model_id, kind), {})[c.hour] = c.reason
    out: list[Episode] = []
    for (model_id, kind), hours in sorted(by_key.items()):
        rule = _rule((per_model or {}).get(model_id, cfg), kind)
        recent: deque[bool] = deque(maxlen=rule.m)
        current: Episode | None = None
        closes = closing.get((model_id, kind), {})
        healthy = 0
        h = start
        while h <= end:
            sig = hours.get(h)
            if h in closes:
                if current is not None:
                    current.resolved_hour, current.resolution = h, closes[h]
                    out.append(current)
                current, healthy = None, 0
                recent.clear()
                h += HOUR
                continue
            recent.append(sig is not None)
            if current is None:
                critical = (
                    kind == ANOMALY and sig is not None and (sig.score or 0) >= cfg.critical_score
                )
                if sig is not None and (sum(recent) >= rule.n or critical):
                    current = Episode(model_id, kind, h, h, None, sig.score, sig.detail, sig.score)
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


def severity(ep: Episode, cfg: AlertsConfig, tier: str | None = None) -> str:
    """Critical for outages, fleet incidents, and anomalies that are extreme (calibrated score),
    persistent (signals spanning `escalate_after_hours`) or on a critical-tier model with a
    high score; everything else is a warning."""
    if ep.kind in (OUTAGE, FLEET, DELIVERY_FAILURE):
        return "critical"
    if ep.kind != ANOMALY:
        return "warning"
    score = ep.peak_score or 0.0
    span = int((ep.last_signal_hour - ep.opened_hour) / HOUR) + 1
    if score >= cfg.critical_score or span >= cfg.escalate_after_hours:
        return "critical"
    if tier is not None and tier in cfg.critical_tiers and score >= cfg.tier_critical_score:
        return "critical"
    return "warning"


def opening_severity(ep: Episode, cfg: AlertsConfig, tier: str | None = None) -> str:
    """The severity the alert had when it opened: stable for the episode's life, so a channel
    that identifies alerts by their labels (Alertmanager) sees one alert, not one per level."""
    first = Episode(
        ep.model_id, ep.kind, ep.opened_hour, ep.opened_hour, None, ep.opening_score, ep.detail
    )
    return severity(first, cfg, tier)


def top_metrics(detail: str, k: int = 3) -> list[dict[str, float | str]]:
    """The explanation's first `k` metrics (the detector orders them by |robust z|)."""
    try:
        items = json.loads(detail or "[]")
    except ValueError:
        return []
    return [e for e in items if isinstance(e, dict) and "metric" in e][:k]


def fleet_signals(counts: pd.DataFrame, cfg: AlertsConfig) -> list[Signal]:
    """Hours in which a large share of the scored fleet was anomalous, as fleet signals.

    `counts` has one row per hour: `hour`, `scored`, `anomalous` and `models` (the anomalous
    ids, comma separated). Both the share and the absolute count must be reached, so a fleet of
    three with two odd models is not an "incident"."""
    out = []
    for r in counts.itertuples(index=False):
        scored, anomalous = int(r.scored or 0), int(r.anomalous or 0)
        if (
            scored
            and anomalous >= cfg.fleet.min_models
            and anomalous / scored >= cfg.fleet.min_share
        ):
            models = sorted(str(r.models or "").split(","))
            detail = json.dumps({"scored": scored, "anomalous": anomalous, "models": models})
            hour = pd.Timestamp(r.hour).to_pydatetime()
            out.append(Signal(FLEET_ID, hour, FLEET, anomalous / scored, detail))
    return out


def _num(value: float | None, spec: str = ".4g") -> str:
    """A number for a message; explanations hold null where a metric had no finite value."""
    return "n/a" if value is None else format(value, spec)


def summarise(ep: Episode, top_k: int = 3) -> str:
    """One line a human can act on: what is wrong and by how much (and, for an alert closed
    by a baseline move or a retirement, that first)."""
    if ep.resolution and ep.resolved_hour is not None:
        return f"{ep.model_id}: resolved: {ep.resolution}. Was: {_summary(ep, top_k)}"
    return _summary(ep, top_k)


def _summary(ep: Episode, top_k: int = 3) -> str:
    if ep.kind == DELIVERY_FAILURE:
        d = json.loads(ep.detail or "{}")
        return (
            f"modelwatch: notifications to {d.get('receiver')} failed in {d.get('runs')} "
            f"consecutive runs: {d.get('reason')}"
        )
    if ep.kind == OUTAGE and ep.model_id == FLEET_ID:
        checks = json.loads(ep.detail or "[]")
        n = next((c.get("unexpected") for c in checks if c.get("check") == FLEET_ROWS_CHECK), "?")
        return f"fleet: metrics missing for all {n} expected models (ingestion outage?)"
    if ep.kind == OUTAGE:
        return f"{ep.model_id}: no metrics arrived (silent outage?)"
    if ep.kind == FLEET:
        d = json.loads(ep.detail or "{}")
        names = ", ".join(d.get("models", [])[:8])
        more = len(d.get("models", [])) - 8
        return (
            f"fleet incident: {d.get('anomalous', '?')} of {d.get('scored', '?')} scored models "
            f"anomalous in one hour ({names}{f', +{more} more' if more > 0 else ''})"
        )
    detail = json.loads(ep.detail or "[]")
    if ep.kind == DRIFT:
        tests = ", ".join(
            f"{d.get('test')} {_num(d.get('statistic'), '.3g')} (threshold {d.get('threshold')})"
            for d in detail[:top_k]
        )
        ref = detail[0].get("reference", "its reference") if detail else "its reference"
        return f"{ep.model_id}: predictions drifted from {ref}: {tests}"
    if ep.kind == DATA_QUALITY:
        checks = ", ".join(f"{c['check']} ({c.get('unexpected', '?')})" for c in detail[:top_k])
        if ep.model_id == FLEET_ID:
            return f"fleet: rows no model can own: {checks}"
        return f"{ep.model_id}: data quarantined: {checks}"
    parts = [
        f"{e['metric']} {_num(e.get('observed'))} vs {_num(e.get('baseline'))} "
        f"(z {_num(e.get('robust_z'), '+.1f')})"
        for e in detail[:top_k]
    ]
    return f"{ep.model_id}: anomaly score {ep.peak_score:.3f}: " + "; ".join(parts)


def episodes_frame(
    episodes: list[Episode], cfg: AlertsConfig, tiers: Mapping[str, str] | None = None
) -> pd.DataFrame:
    tiers = tiers or {}
    rows = [
        {
            "alert_id": ep.alert_id,
            "model_id": ep.model_id,
            "kind": ep.kind,
            "severity": severity(ep, cfg, tiers.get(ep.model_id)),
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
    """One thing to tell people about; the fields after `summary` are the content channels
    render (filled in by `events_at` and `enrich`), so a notifier needs nothing else."""

    alert_id: str
    model_id: str
    kind: str
    event: str
    severity: str
    hour: datetime
    summary: str
    opened_hour: datetime | None = None
    resolved_hour: datetime | None = None
    score: float | None = None
    detail: str = "[]"
    #: The severity the alert opened with (Alertmanager's `severity` label).
    label_severity: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Links and extras: runbook_url, run_url, plot_path, plot_url.
    links: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: The top troubleshooting hints (modelwatch.hints), best first.
    hints: tuple[str, ...] = field(default=(), hash=False)


def events_at(
    episodes: list[Episode],
    hour: datetime,
    cfg: AlertsConfig,
    tiers: Mapping[str, str] | None = None,
) -> list[AlertEvent]:
    """What this hour's run should tell people about: openings, reminders and resolutions."""
    tiers = tiers or {}
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
            tier = tiers.get(ep.model_id)
            out.append(
                AlertEvent(
                    ep.alert_id,
                    ep.model_id,
                    ep.kind,
                    event,
                    severity(ep, cfg, tier),
                    hour,
                    summarise(ep),
                    opened_hour=ep.opened_hour,
                    resolved_hour=ep.resolved_hour,
                    score=ep.peak_score,
                    detail=ep.detail or "[]",
                    label_severity=opening_severity(ep, cfg, tier),
                )
            )
    return out
