"""Timestamps as every stage sees them: naive UTC, whatever the source delivered.

Why one place: sources deliver times as naive or aware columns (PostgreSQL `timestamptz`,
DuckDB `TIMESTAMP WITH TIME ZONE`), as strings or as Python datetimes. Aware and naive stamps
cannot be compared, and a local-time stamp shifts hour-of-day baselines. Every frame read from
outside goes through `naive_utc_columns` at its input edge; nothing downstream converts again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pandas as pd


def to_naive_utc(value: datetime) -> datetime:
    """Naive UTC is the warehouse's convention: convert aware datetimes, keep naive ones."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def naive_utc(values: pd.Series, errors: str = "raise") -> pd.Series:
    """`values` as a naive-UTC datetime column: aware stamps converted to UTC, naive ones
    taken as UTC already, strings and Python datetimes (aware, naive or mixed) parsed.
    `errors="coerce"` makes unreadable values NaT instead of raising."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values
    parsed = pd.to_datetime(values.astype(object), errors=errors, format="ISO8601", utc=True)
    return parsed.dt.tz_localize(None)


def naive_utc_columns(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """`frame` with each of `columns` it has in naive UTC (`naive_utc`); the frame itself when
    nothing needed converting."""
    changed = {
        c: naive_utc(frame[c])
        for c in columns
        if c in frame.columns and not pd.api.types.is_datetime64_dtype(frame[c].dtype)
    }
    return frame.assign(**changed) if changed else frame
