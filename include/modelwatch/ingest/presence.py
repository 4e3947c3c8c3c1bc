"""Which models are still in service: a model silent while the fleet reports is retired.

A model stays expected for `history_days` after its last row (it may be in an outage). But a
model taken out of service would then page every few hours for a week; so a model without rows
for `fleet_life.retire_after_hours` hours *in which the rest of the fleet reported* is retired:
no longer expected, its alerts resolved once (alerting/closures.py), no more pages. Hours in
which no model reported are an ingestion outage and never count towards anyone's retirement.
Rows arriving again bring it back: it is known again from its first new row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.run import HOUR
from modelwatch.timestamps import naive_utc
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident


@dataclass(frozen=True)
class Retirement:
    model_id: str
    last_seen: datetime  # the hour of its last row
    hour: datetime  # the hour it was retired at


def last_seen(wh: Warehouse, settings: Settings, hour: datetime) -> dict[str, datetime]:
    """Each model's hour of its latest row within the lookback, up to the end of `hour`."""
    src = settings.source
    ts, mid = quote_ident(src.column(schema.TS)), quote_ident(src.column(schema.MODEL_ID))
    start = hour - timedelta(days=settings.detection.history_days)
    got = wh.query(
        f"SELECT {mid} AS model_id, MAX({ts}) AS last FROM {quote_ident(src.table)} "
        f"WHERE {ts} >= :start AND {ts} < :end AND {mid} IS NOT NULL GROUP BY {mid}",
        {"start": start, "end": hour + HOUR},
    )
    last = naive_utc(got["last"]).dt.floor("h")  # a `timestamptz` column: naive UTC here
    return {
        str(m): pd.Timestamp(t).to_pydatetime() for m, t in zip(got["model_id"], last, strict=True)
    }


def fleet_hours(
    wh: Warehouse, settings: Settings, start: datetime, end: datetime
) -> list[datetime]:
    """The hours in [start, end) in which any model reported."""
    src = settings.source
    ts = quote_ident(src.column(schema.TS))
    got = wh.query(
        f"SELECT DISTINCT date_trunc('hour', {ts}) AS h FROM {quote_ident(src.table)} "
        f"WHERE {ts} >= :start AND {ts} < :end",
        {"start": start, "end": end},
    )
    return sorted(pd.Timestamp(h).to_pydatetime() for h in naive_utc(got["h"]))


def retirements(
    wh: Warehouse, settings: Settings, hour: datetime, seen: dict[str, datetime]
) -> list[Retirement]:
    """The models retired by the end of `hour`: their `retire_after_hours`-th hour of fleet
    rows after their last row has come. Only models silent at least that long are checked."""
    after = settings.fleet_life.retire_after_hours
    silent = {m: s for m, s in seen.items() if s <= hour - timedelta(hours=after)}
    if not silent:
        return []
    hours = fleet_hours(wh, settings, min(silent.values()) + HOUR, hour + HOUR)
    out = []
    for model_id, last in sorted(silent.items()):
        reported = [h for h in hours if h > last]
        if len(reported) >= after:
            out.append(Retirement(model_id, last, reported[after - 1]))
    return out


def in_service(
    wh: Warehouse, settings: Settings, hour: datetime
) -> tuple[list[str], list[Retirement]]:
    """The models expected to report at `hour` (known in the lookback, not retired), and the
    retirements among the others."""
    seen = last_seen(wh, settings, hour)
    gone = retirements(wh, settings, hour, seen)
    retired = {r.model_id for r in gone}
    return sorted(m for m in seen if m not in retired), gone


def record_retirements(wh: Warehouse, gone: Sequence[Retirement]) -> None:
    """Store the retirements (idempotent: one row per model and last row)."""
    for r in gone:
        frame = pd.DataFrame(
            {"model_id": [r.model_id], "last_seen": [r.last_seen], "hour": [r.hour]}
        ).astype({"last_seen": "datetime64[us]", "hour": "datetime64[us]"})
        wh.replace(
            "mw_retirements",
            frame,
            "model_id = :m AND last_seen = :s",
            {"m": r.model_id, "s": r.last_seen},
        )
