"""The alert step's bridge to `modelwatch.hints`: which alerts get hints, and what hints need
to know of each (when its trouble began, its top metrics, a fleet incident's models).

Hints help on-call; they never hold an alert back: if finding them fails, the alert goes out
without them, saying so (`step.find_hints`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pandas as pd

from modelwatch.alerting import lifecycle
from modelwatch.hints.build import top_summaries
from modelwatch.hints.model import AlertRef
from modelwatch.run import HOUR


def began(ep: lifecycle.Episode, signals: list[lifecycle.Signal], lookback: int = 3) -> datetime:
    """The first hour of the run of signals that opened the episode (an alert opens after n of
    m hours, so its trouble may have begun an hour or two earlier)."""
    hours = {s.hour for s in signals if s.model_id == ep.model_id and s.kind == ep.kind}
    first = ep.opened_hour
    while first - HOUR in hours and first - HOUR >= ep.opened_hour - lookback * HOUR:
        first -= HOUR
    return first


def alert_ref(ep: lifecycle.Episode, signals: list[lifecycle.Signal]) -> AlertRef:
    fleet: tuple[str, ...] = ()
    if ep.kind == lifecycle.FLEET:
        try:
            fleet = tuple(json.loads(ep.detail or "{}").get("models", []))
        except (ValueError, AttributeError):
            fleet = ()
    top = tuple(str(m["metric"]) for m in lifecycle.top_metrics(ep.detail, 3))
    return AlertRef(
        ep.alert_id, ep.model_id, ep.kind, ep.opened_hour, began(ep, signals), top, fleet
    )


def live_refs(
    episodes: list[lifecycle.Episode], signals: list[lifecycle.Signal], hour: datetime
) -> list[AlertRef]:
    """What hints need to know of every alert open (or opening) at `hour`."""
    live = [ep for ep in episodes if ep.active_at(hour) or ep.opened_hour == hour]
    return [alert_ref(ep, signals) for ep in live]


def with_hints(
    e: lifecycle.AlertEvent, hints: pd.DataFrame, notes: tuple[str, ...] = ()
) -> lifecycle.AlertEvent:
    """The event carrying its top hints, then `notes` (for every channel's message)."""
    top = top_summaries(hints[hints["alert_id"] == e.alert_id]) if len(hints) else {}
    return replace(e, hints=top.get(e.alert_id, ()) + notes)
