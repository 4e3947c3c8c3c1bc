"""The alerts as operators ask for them (`modelwatch alerts`): what is firing, for a model,
since a time; read from `mw_alerts`, which each run rebuilds from its signals.

A warehouse no run has reached yet has no alert table: that is "no alerts", not an error.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from modelwatch.alerting.lifecycle import ALERT_COLUMNS
from modelwatch.warehouse import Warehouse

#: What a listing shows of an alert (its explanation JSON stays in the table and the UI).
LISTED = [c for c in ALERT_COLUMNS if c != "explanation"]


def list_alerts(
    wh: Warehouse,
    open_only: bool = False,
    model_id: str | None = None,
    since: datetime | None = None,
) -> pd.DataFrame:
    """Alerts, newest first: only those not resolved (`open_only`), of one model, or those
    open at some hour from `since` on (opened later, or resolved after it)."""
    if not wh.table_exists("mw_alerts"):
        return pd.DataFrame(columns=LISTED)
    where, params = ["1 = 1"], {}
    if open_only:
        where.append("resolved_hour IS NULL")
    if model_id is not None:
        where.append("model_id = :model")
        params["model"] = model_id
    if since is not None:
        where.append("(resolved_hour IS NULL OR resolved_hour > :since)")
        params["since"] = since
    return wh.query(
        f"SELECT {', '.join(LISTED)} FROM mw_alerts WHERE {' AND '.join(where)} "
        "ORDER BY opened_hour DESC, alert_id",
        params,
    )
