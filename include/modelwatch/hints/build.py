"""Find and rank the hints of a run's alerts (called by the alert step, before delivery, so
that messages carry the top 3), from the facts `tables.load_facts` read.

Each fact is optional: without logs there are no log signatures, without a changes table no
declared changes, and so on; without any, an alert simply has no hints.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.config import Settings
from modelwatch.hints import model
from modelwatch.hints.changes import change_hints
from modelwatch.hints.drift import drift_hints
from modelwatch.hints.shared import shared_hints
from modelwatch.hints.signatures import Signatures
from modelwatch.hints.tables import HintFacts


def build_hints(
    facts: HintFacts, settings: Settings, alerts: list[model.AlertRef], hour: datetime
) -> pd.DataFrame:
    """The `mw_hints` rows of these alerts at `hour`, from the stored `facts`."""
    cfg = settings.hints
    if not cfg.enabled or not alerts:
        return model.frame([])
    change_window = timedelta(hours=cfg.change_window_hours)
    trouble = facts.trouble
    sigs = Signatures(
        facts.counts, facts.baseline, settings.logs.baseline_days, set(trouble["model_id"])
    )
    records: list[dict[str, Any]] = []
    for a in sorted(alerts, key=lambda a: a.alert_id):
        found = change_hints(
            a, facts.declared, facts.inferred, facts.actions, facts.labels, change_window
        )
        logs = [] if a.fleet_models else sigs.hints(a, hour, cfg)
        shared, logs = shared_hints(a, hour, trouble, facts.labels, cfg, logs, sigs.fresh_text)
        found += shared + logs + drift_hints(a, hour, facts.drift)
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
