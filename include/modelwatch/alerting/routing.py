"""Who hears about an alert, and which alerts nobody should hear about right now.

Routing turns labels (the model's team, tier and owner from the warehouse table `models`, plus
kind and severity) into receivers, like Alertmanager's route tree reduced to what a fleet of
models needs: default receivers plus label-matched routes. Noise control decides, per event,
whether it is held back and why: a silence, a maintenance window, an inhibiting outage or
data-quality alert on the same model, or a fleet incident that already covers it. Held-back
events are still recorded in the ledger, with the reason, so "why did nobody get paged?" has
an answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from urllib.parse import quote

from modelwatch.alerting.lifecycle import (
    ANOMALY,
    FLEET,
    FLEET_ID,
    OUTAGE,
    AlertEvent,
    Episode,
    top_metrics,
)
from modelwatch.alerting.silences import Silence, matches, window_covers
from modelwatch.config import AlertsConfig
from modelwatch.labels import Labels
from modelwatch.links import run_url

log = logging.getLogger(__name__)


def event_labels(e: AlertEvent, model_labels: Mapping[str, Labels]) -> Labels:
    labels = {"model_id": e.model_id, "kind": e.kind, "severity": e.severity}
    labels.update(model_labels.get(e.model_id, {}))
    return labels


def receivers_for(labels: Mapping[str, str], cfg: AlertsConfig) -> list[str]:
    """Default receivers plus every matching route's, in order and without repeats; an
    `exclusive` matching route replaces the defaults (e.g. a team that wants only its own)."""
    routed: list[str] = []
    exclusive = False
    for route in cfg.routes:
        if matches(route.match, labels):
            routed.extend(route.receivers)
            exclusive = exclusive or route.exclusive
    names = routed if exclusive else [*cfg.receivers, *routed]
    return list(dict.fromkeys(names))


def suppression(
    e: AlertEvent,
    labels: Mapping[str, str],
    episodes: Sequence[Episode],
    silences: Sequence[Silence],
    cfg: AlertsConfig,
) -> str | None:
    """Why this event is held back, or None. Resolves of an inhibited or grouped alert are
    held back too: nobody was told it fired, so nobody needs telling it ended."""
    h = e.hour
    for s in silences:
        if s.covers(h, labels):
            return f"silenced by {s.silence_id} ({s.created_by}: {s.comment})"
    for w in cfg.maintenance:
        if window_covers(w, h) and matches(w.match, labels):
            return f"maintenance window {w.name}"
    if e.kind == OUTAGE and e.model_id != FLEET_ID:
        outage = [
            ep
            for ep in episodes
            if ep.model_id == FLEET_ID
            and ep.kind == OUTAGE
            and (ep.active_at(h) or ep.opened_hour == h)
        ]
        if outage:
            return f"grouped into fleet outage {outage[0].alert_id}"
    if e.kind == ANOMALY:
        fleet = [
            ep
            for ep in episodes
            if ep.kind == FLEET
            and (ep.active_at(h) or ep.opened_hour == h)
            and e.model_id in _fleet_models(ep)
        ]
        if fleet:
            return f"grouped into fleet incident {fleet[0].alert_id}"
    for rule in cfg.inhibit:
        if e.kind not in rule.target_kinds:
            continue
        if rule.target_metrics:
            top = top_metrics(e.detail, 1)
            if not top or top[0]["metric"] not in rule.target_metrics:
                continue
        for ep in episodes:
            if (
                ep.model_id == e.model_id
                and ep.kind in rule.source_kinds
                and ep.alert_id != e.alert_id
                and (ep.active_at(h) or ep.opened_hour == h)
            ):
                return f"inhibited by {ep.alert_id}"
    return None


def _fleet_models(ep: Episode) -> set[str]:
    try:
        return set(json.loads(ep.detail or "{}").get("models", []))
    except (ValueError, AttributeError):
        return set()


def runbook(e: AlertEvent, cfg: AlertsConfig) -> str | None:
    if e.model_id in cfg.runbooks:
        return cfg.runbooks[e.model_id]
    if cfg.runbook_url:  # ids are data: a `/` or `?` in one must not change the URL's path
        return cfg.runbook_url.format(model_id=quote(e.model_id, safe=""), kind=e.kind)
    return None


def enrich(e: AlertEvent, labels: Mapping[str, str], cfg: AlertsConfig, run_id: str) -> AlertEvent:
    links = {"run_url": run_url(cfg, run_id)}
    rb = runbook(e, cfg)
    if rb:
        links["runbook_url"] = rb
    return replace(e, labels=dict(labels), links={**links, **e.links})


def is_fleet(e: AlertEvent) -> bool:
    return e.model_id == FLEET_ID


def at_hour(events: Sequence[AlertEvent], hour: datetime) -> list[AlertEvent]:
    return [e for e in events if e.hour == hour]


def replace_links(e: AlertEvent, extra: Mapping[str, str]) -> AlertEvent:
    return replace(e, links={**e.links, **extra}) if extra else e
