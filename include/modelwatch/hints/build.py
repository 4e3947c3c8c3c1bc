"""Find, rank and store the hints of a run's alerts (called by the alert step, before
delivery, so that messages carry the top 3).

Everything is read from stored facts (changes, metrics versions, log counts, scores, labels),
so a rebuild of the same hour gives the same rows, like the alerts themselves. Each input is
optional: without logs there are no log signatures, without a changes table no declared
changes, and so on; without any, an alert simply has no hints.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.config import Settings
from modelwatch.hints import model
from modelwatch.hints.changes import change_hints, inferred_deploys, load_changes, self_actions
from modelwatch.hints.drift import drift_hints, load_drift
from modelwatch.hints.labels import load_labels
from modelwatch.hints.shared import load_trouble, shared_hints
from modelwatch.hints.signatures import Signatures, load_baseline, load_counts
from modelwatch.run import HOUR
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)


def build_hints(
    wh: Warehouse, settings: Settings, alerts: list[model.AlertRef], hour: datetime
) -> pd.DataFrame:
    """The `mw_hints` rows of these alerts, computed for `hour`."""
    cfg = settings.hints
    if not cfg.enabled or not alerts:
        return model.frame([])
    window = timedelta(hours=cfg.change_window_hours)
    began = min(a.began for a in alerts)
    start, end = began - window, hour + HOUR
    labels = load_labels(wh, settings)
    models = sorted({a.model_id for a in alerts} | {m for a in alerts for m in a.fleet_models})
    declared = load_changes(wh, settings, start, end)
    inferred = inferred_deploys(wh, settings, models, start - HOUR, end)
    actions = self_actions(wh, models, start - HOUR, end)
    trouble = load_trouble(wh, began - HOUR, hour)
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = load_counts(wh, began - HOUR, hour)
    sigs = Signatures(
        counts, load_baseline(wh, day), settings.logs.baseline_days, set(trouble["model_id"])
    )
    drift = load_drift(wh, began - HOUR, hour)
    records: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: a.alert_id):
        found = change_hints(a, declared, inferred, actions, labels, window)
        logs = [] if a.fleet_models else sigs.hints(a, hour, cfg)
        shared, logs = shared_hints(a, hour, trouble, labels, cfg, logs, sigs.fresh_text)
        found += shared + logs + drift_hints(a, hour, drift)
        records += model.rows(a, hour, model.ranked(found, cfg.max_hints))
    return model.frame(records)


def top_summaries(
    hints: pd.DataFrame, k: int = model.TOP_IN_MESSAGES
) -> dict[str, tuple[str, ...]]:
    """alert_id -> its first `k` hint summaries, for the messages."""
    out: dict[str, tuple[str, ...]] = {}
    for alert_id, g in hints.sort_values(["alert_id", "rank"]).groupby("alert_id", sort=False):
        out[str(alert_id)] = tuple(g["summary"].head(k))
    return out
