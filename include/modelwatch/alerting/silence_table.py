"""Silences in the warehouse (`mw_silences`): add, expire, list, and load for an alert run.

Who and why are required, so on-call can ask; an expired silence stays on record. See
`silences.py` for what a silence matches.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from modelwatch.alerting.silences import SILENCE_COLUMNS, Silence
from modelwatch.run import HOUR
from modelwatch.timestamps import to_naive_utc
from modelwatch.warehouse import Warehouse


def add_silence(
    wh: Warehouse,
    matchers: Mapping[str, str],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    now: datetime,
) -> str:
    """Store a silence and return its id; who and why are required so on-call can ask."""
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    if not created_by.strip() or not comment.strip():
        raise ValueError("a silence needs who (--by) and why (--comment)")
    sid = uuid.uuid4().hex[:12]
    row = pd.DataFrame(
        [
            {
                "silence_id": sid,
                "matchers": json.dumps(dict(sorted(matchers.items()))),
                "starts_at": to_naive_utc(starts_at),
                "ends_at": to_naive_utc(ends_at),
                "created_by": created_by,
                "comment": comment,
                "created_at": to_naive_utc(now),
                "expired_by": None,
            }
        ],
        columns=SILENCE_COLUMNS,
    )
    for c in ("starts_at", "ends_at", "created_at"):
        row[c] = row[c].astype("datetime64[us]")
    row["expired_by"] = row["expired_by"].astype("string")
    wh.insert("mw_silences", row)
    return sid


def expire_silence(wh: Warehouse, silence_id: str, by: str, now: datetime) -> bool:
    """End a silence now (kept on record); False if no such silence is still running."""
    found = wh.query(
        "SELECT silence_id FROM mw_silences WHERE silence_id = :id AND ends_at > :now",
        {"id": silence_id, "now": to_naive_utc(now)},
    )
    if found.empty:
        return False
    wh.execute(
        "UPDATE mw_silences SET ends_at = :now, expired_by = :by WHERE silence_id = :id",
        {"id": silence_id, "now": to_naive_utc(now), "by": by},
    )
    return True


def list_silences(wh: Warehouse, now: datetime | None = None) -> pd.DataFrame:
    """All silences, or only those not yet ended at `now`."""
    if now is None:
        return wh.query("SELECT * FROM mw_silences ORDER BY starts_at, silence_id")
    return wh.query(
        "SELECT * FROM mw_silences WHERE ends_at > :now ORDER BY starts_at, silence_id",
        {"now": to_naive_utc(now)},
    )


def load_silences(wh: Warehouse, start: datetime, end: datetime) -> list[Silence]:
    """Silences overlapping the hours [start, end]."""
    if not wh.table_exists("mw_silences"):
        return []
    frame = wh.query(
        "SELECT * FROM mw_silences WHERE starts_at < :end AND ends_at > :start",
        {"start": start, "end": end + HOUR},
    )
    return [
        Silence(
            r.silence_id,
            json.loads(r.matchers),
            pd.Timestamp(r.starts_at).to_pydatetime(),
            pd.Timestamp(r.ends_at).to_pydatetime(),
            r.created_by,
            r.comment,
        )
        for r in frame.itertuples(index=False)
    ]
