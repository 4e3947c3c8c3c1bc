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

from modelwatch.config import Settings
from modelwatch.ingest.source import MetricsSource
from modelwatch.run import HOUR
from modelwatch.warehouse import Warehouse


@dataclass(frozen=True)
class Retirement:
    model_id: str
    last_seen: datetime  # the hour of its last row
    hour: datetime  # the hour it was retired at


def last_seen(source: MetricsSource, settings: Settings, hour: datetime) -> dict[str, datetime]:
    """Each model's hour of its latest row within the lookback, up to the end of `hour`."""
    start = hour - timedelta(days=settings.detection.history_days)
    newest = source.newest(start, hour + HOUR)
    return {m: t.replace(minute=0, second=0, microsecond=0) for m, t in newest.items()}


def fleet_hours(source: MetricsSource, start: datetime, end: datetime) -> list[datetime]:
    """The hours in [start, end) in which any model reported."""
    return source.active_hours(start, end)


def retirements(
    source: MetricsSource, settings: Settings, hour: datetime, seen: dict[str, datetime]
) -> list[Retirement]:
    """The models retired by the end of `hour`: their `retire_after_hours`-th hour of fleet
    rows after their last row has come. Only models silent at least that long are checked."""
    after = settings.fleet_life.retire_after_hours
    silent = {m: s for m, s in seen.items() if s <= hour - timedelta(hours=after)}
    if not silent:
        return []
    hours = fleet_hours(source, min(silent.values()) + HOUR, hour + HOUR)
    out = []
    for model_id, last in sorted(silent.items()):
        reported = [h for h in hours if h > last]
        if len(reported) >= after:
            out.append(Retirement(model_id, last, reported[after - 1]))
    return out


def in_service(
    source: MetricsSource, settings: Settings, hour: datetime
) -> tuple[list[str], list[Retirement]]:
    """The models expected to report at `hour` (known in the lookback, not retired), and the
    retirements among the others."""
    seen = last_seen(source, settings, hour)
    gone = retirements(source, settings, hour, seen)
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
