"""Where log lines come from: a warehouse table, JSON-lines files, or Elasticsearch/OpenSearch.

All optional: no table, no files, no connection means no lines, and the pipeline goes on
without log hints. Every source returns the same frame: ts, model_id, level, message, logger,
trace_id (the last two may be empty); the config maps our names onto the source's. Times are
naive UTC whatever the source's type (a `timestamptz` column, ISO strings with offsets).

A JSON-lines file is read whole for each hour of its day, so a row that belongs to no hour (no
readable time, or not JSON at all) is given the hour of the nearest timestamped line before it
in the file (after it, when none is before; the file's `{date}` at midnight when none has a
time): it is counted once, in that hour, not in every hour that reads the file.
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from modelwatch.config import LOG_COLUMNS, LogsConfig
from modelwatch.timestamps import naive_utc
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident

log = logging.getLogger(__name__)

#: A JSON line that does not parse is a bad row like any other (counted, skipped).
INVALID_JSON = "invalid_json"


def empty_lines() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    for c in LOG_COLUMNS:
        if c not in frame:
            frame[c] = None
    return frame[list(LOG_COLUMNS)].reset_index(drop=True)


def from_warehouse(
    wh: Warehouse, cfg: LogsConfig, start: datetime, end: datetime, models: Sequence[str] | None
) -> pd.DataFrame:
    name = cfg.table.split(".")[-1]
    if not wh.table_exists(name):
        return empty_lines()
    cols = wh.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = :t",
        {"t": name},
    )
    have = {c.lower() for c in cols["column_name"]}
    types = dict(zip(cols["column_name"].str.lower(), cols["data_type"].str.lower(), strict=True))
    select = [
        f"{quote_ident(cfg.column(c))} AS {quote_ident(c)}"
        for c in LOG_COLUMNS
        if cfg.column(c).lower() in have
    ]
    ts = quote_ident(cfg.column("ts"))
    where = f"{ts} >= :start AND {ts} < :end"
    params: dict[str, object] = {"start": start, "end": end}
    if "time zone" in types.get(cfg.column("ts").lower(), ""):  # timestamptz: compare in UTC
        params = {"start": start.replace(tzinfo=UTC), "end": end.replace(tzinfo=UTC)}
    if models is not None:
        where += f" AND {quote_ident(cfg.column('model_id'))} IN :models"
        params["models"] = list(models)
    frame = wh.query(
        f"SELECT {', '.join(select)} FROM {quote_ident(cfg.table)} WHERE {where}", params
    )
    if "ts" in frame:  # a `timestamptz` column as naive UTC; unreadable text stays a null ts
        frame["ts"] = naive_utc(frame["ts"], errors="coerce")
    return _finish(frame)


#: Columns `read_jsonl` adds: the 1-based line number in the file, and whether it was no JSON
#: object (its other columns empty).
LINE, INVALID = "line", "invalid"


def read_jsonl(path: Path, cfg: LogsConfig) -> pd.DataFrame:
    """Every non-blank line of a JSON-lines file, in file order: our columns, `line` and
    `invalid`. Bytes that are not UTF-8 are decoded with replacement characters (and then
    rejected by `clean`)."""
    rows: list[tuple[object, ...]] = []
    names = [cfg.column(c) for c in LOG_COLUMNS]
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError:
                obj = None
            if isinstance(obj, dict):
                rows.append((*(obj.get(c) for c in names), number, False))
            else:
                rows.append((*(None for _ in names), number, True))
    return pd.DataFrame(rows, columns=[*LOG_COLUMNS, LINE, INVALID], dtype=object)


def parse_jsonl(path: Path, cfg: LogsConfig) -> tuple[pd.DataFrame, int]:
    """A JSON-lines file's rows (our column names) and how many lines were not JSON objects."""
    frame = read_jsonl(path, cfg)
    invalid = frame[INVALID].astype(bool)
    return frame.loc[~invalid, list(LOG_COLUMNS)].reset_index(drop=True), int(invalid.sum())


def _hour_of_rows(frame: pd.DataFrame, ts: pd.Series, day: date | None) -> pd.Series:
    """Each row's hour: its own, else the nearest timestamped row's before it in the file,
    else after it, else `day` at midnight (NaT without one)."""
    hour = ts.dt.floor("h")
    filled = hour.ffill().bfill()
    if day is not None:
        filled = filled.fillna(pd.Timestamp(day))
    return filled


def from_jsonl(
    cfg: LogsConfig, start: datetime, end: datetime, models: Sequence[str] | None
) -> tuple[pd.DataFrame, int]:
    if not cfg.path:
        return empty_lines(), 0
    dates = sorted(
        {
            (start + timedelta(hours=h)).date()
            for h in range(int((end - start) / timedelta(hours=1)) or 1)
        }
    )
    found: dict[str, date | None] = {}
    for d in dates:
        for p in glob.glob(cfg.path.replace("{date}", d.isoformat())):
            found.setdefault(p, d if "{date}" in cfg.path else None)
    frames, bad = [], 0
    for p, day in sorted(found.items()):
        frame = read_jsonl(Path(p), cfg)
        ts = naive_utc(frame["ts"], errors="coerce")
        hour = _hour_of_rows(frame, ts, day)
        keep = ((hour >= start) & (hour < end)).to_numpy()
        if models is not None:
            keep &= (frame["model_id"].isin(list(models)) | frame["model_id"].isna()).to_numpy()
        invalid = frame[INVALID].astype(bool).to_numpy()
        bad += int((keep & invalid).sum())
        rows = frame[keep & ~invalid].copy()
        rows["ts"] = ts[keep & ~invalid]
        frames.append(rows)
    if not frames:
        return empty_lines(), bad
    frame = pd.concat(frames, ignore_index=True)
    frame["ts"] = frame["ts"].astype(object).where(frame["ts"].notna(), None)
    return _finish(frame), bad


def read_lines(
    wh: Warehouse,
    cfg: LogsConfig,
    start: datetime,
    end: datetime,
    models: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The window's lines from the configured source, and the count of unparseable rows."""
    if cfg.source == "none":
        return empty_lines(), 0
    if cfg.source == "warehouse":
        return from_warehouse(wh, cfg, start, end, models), 0
    if cfg.source == "jsonl":
        return from_jsonl(cfg, start, end, models)
    from modelwatch.logs import elastic

    columns = {c: cfg.column(c) for c in LOG_COLUMNS}
    search = elastic.http_search(cfg.conn_id, cfg.index)
    return _finish(elastic.read_lines(search, columns, start, end, cfg.page_size, models)), 0
