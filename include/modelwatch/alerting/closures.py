"""Alerts that resolve for a reason other than recovery, read from stored facts.

- A model's baseline moved (`mw_baselines`, detection/baselines.py): its open anomaly alert
  resolves at the decided hour with a message that says so; its new level is normal now.
- A model was retired (`mw_retirements`, ingest/presence.py): every open alert of it resolves
  at the retirement hour, the one notice that it is gone; it is not expected any more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from modelwatch.alerting.lifecycle import ANOMALY, Closure
from modelwatch.warehouse import Warehouse


def load_closures(
    wh: Warehouse, models: Sequence[str], start: datetime, end: datetime
) -> list[Closure]:
    """Baseline moves and retirements of `models` in [start, end]."""
    if not models:
        return []
    p = {"models": list(models), "start": start, "end": end}
    out: list[Closure] = []
    if wh.table_exists("mw_baselines"):
        moved = wh.query(
            "SELECT model_id, decided_hour, since, source, actor, reason FROM mw_baselines "
            "WHERE decided_hour >= :start AND decided_hour <= :end AND model_id IN :models",
            p,
        )
        for r in moved.itertuples(index=False):
            since = pd.Timestamp(r.since)
            if r.source == "operator":
                why = f"accepted as normal by {r.actor}" + (f" ({r.reason})" if r.reason else "")
            else:
                why = str(r.reason or "the new level held")
            reason = f"baseline moved: {why}; the level since {since:%Y-%m-%d %H:00} is normal now"
            out.append(Closure(str(r.model_id), _hour(r.decided_hour), reason, (ANOMALY,)))
    if wh.table_exists("mw_retirements"):
        gone = wh.query(
            "SELECT model_id, last_seen, hour FROM mw_retirements "
            "WHERE hour >= :start AND hour <= :end AND model_id IN :models",
            p,
        )
        for r in gone.itertuples(index=False):
            reason = (
                f"model retired: no rows since {pd.Timestamp(r.last_seen):%Y-%m-%d %H:00} "
                "while the rest of the fleet reported; no more pages unless it reports again"
            )
            out.append(Closure(str(r.model_id), _hour(r.hour), reason))
    return out


def _hour(value: object) -> datetime:
    return pd.Timestamp(value).to_pydatetime()
