"""Alerts that resolve for a reason other than recovery, from their stored rows.

- A model's baseline moved (`mw_baselines`, detection/baselines.py): its open anomaly alert
  resolves at the decided hour with a message that says so; its new level is normal now.
- A model was retired (`mw_retirements`, ingest/presence.py): every open alert of it resolves
  at the retirement hour, the one notice that it is gone; it is not expected any more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from modelwatch.alerting.lifecycle import ANOMALY, Closure


def baseline_closure(r: Any) -> Closure:
    """The closure of a baseline move (a `mw_baselines` row)."""
    since = pd.Timestamp(r.since)
    if r.source == "operator":
        why = f"accepted as normal by {r.actor}" + (f" ({r.reason})" if r.reason else "")
    else:
        why = str(r.reason or "the new level held")
    reason = f"baseline moved: {why}; the level since {since:%Y-%m-%d %H:00} is normal now"
    return Closure(str(r.model_id), _hour(r.decided_hour), reason, (ANOMALY,))


def retirement_closure(r: Any) -> Closure:
    """The closure of a retirement (a `mw_retirements` row): every kind of alert."""
    reason = (
        f"model retired: no rows since {pd.Timestamp(r.last_seen):%Y-%m-%d %H:00} "
        "while the rest of the fleet reported; no more pages unless it reports again"
    )
    return Closure(str(r.model_id), _hour(r.hour), reason)


def _hour(value: object) -> datetime:
    return pd.Timestamp(value).to_pydatetime()
