"""The alert step's bridge to `modelwatch.hints`: which alerts get hints, and what hints need
to know of each (when its trouble began, its top metrics, a fleet incident's models).

Hints help on-call; they never hold an alert back: if finding them fails, the alert goes out
without them and the failure is logged.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime

import pandas as pd

from modelwatch.alerting import lifecycle
from modelwatch.config import Settings
from modelwatch.hints.build import build_hints, top_summaries
from modelwatch.hints.model import AlertRef, frame
from modelwatch.run import HOUR
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)


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


def hints_for(
    wh: Warehouse,
    settings: Settings,
    episodes: list[lifecycle.Episode],
    signals: list[lifecycle.Signal],
    hour: datetime,
) -> pd.DataFrame:
    """The hints of every alert open (or opening) at `hour`; none if finding them fails."""
    live = [ep for ep in episodes if ep.active_at(hour) or ep.opened_hour == hour]
    try:
        return build_hints(wh, settings, [alert_ref(ep, signals) for ep in live], hour)
    except Exception:
        log.warning("could not find hints for %s; alerts go out without them", hour, exc_info=True)
        return frame([])


def with_hints(e: lifecycle.AlertEvent, hints: pd.DataFrame) -> lifecycle.AlertEvent:
    """The event carrying its top hints (for every channel's message)."""
    top = top_summaries(hints[hints["alert_id"] == e.alert_id]) if len(hints) else {}
    return replace(e, hints=top.get(e.alert_id, ()))
