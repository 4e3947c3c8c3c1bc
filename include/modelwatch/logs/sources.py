"""Where log lines come from: a warehouse table, JSON-lines files, or Elasticsearch/OpenSearch.

All optional: no table, no files, no connection means no lines, and the pipeline goes on
without log hints. Every source returns the same frame: ts, model_id, level, message, logger,
trace_id (the last two may be empty); the config maps our names onto the source's.
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
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
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t", {"t": name}
    )
    have = {c.lower() for c in cols["column_name"]}
    select = [
        f"{quote_ident(cfg.column(c))} AS {quote_ident(c)}"
        for c in LOG_COLUMNS
        if cfg.column(c).lower() in have
    ]
    ts = quote_ident(cfg.column("ts"))
    where = f"{ts} >= :start AND {ts} < :end"
    params: dict[str, object] = {"start": start, "end": end}
    if models is not None:
        where += f" AND {quote_ident(cfg.column('model_id'))} IN :models"
        params["models"] = list(models)
    frame = wh.query(
        f"SELECT {', '.join(select)} FROM {quote_ident(cfg.table)} WHERE {where}", params
    )
    if "ts" in frame:  # a `timestamptz` column as naive UTC; unreadable text stays a null ts
        frame["ts"] = naive_utc(frame["ts"], errors="coerce")
    return _finish(frame)


def parse_jsonl(path: Path, cfg: LogsConfig) -> tuple[pd.DataFrame, int]:
    """A JSON-lines file's rows (our column names) and how many lines were not JSON objects.
    Bytes that are not UTF-8 are decoded with replacement characters (and then rejected)."""
    rows, bad = [], 0
    with path.open("rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError:
                bad += 1
                continue
            if not isinstance(obj, dict):
                bad += 1
                continue
            rows.append({c: obj.get(cfg.column(c)) for c in LOG_COLUMNS})
    return pd.DataFrame(rows, columns=list(LOG_COLUMNS), dtype=object), bad


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
    paths = sorted({p for d in dates for p in glob.glob(cfg.path.replace("{date}", d.isoformat()))})
    frames, bad = [], 0
    for p in paths:
        frame, n_bad = parse_jsonl(Path(p), cfg)
        frames.append(frame)
        bad += n_bad
    if not frames:
        return empty_lines(), bad
    frame = pd.concat(frames, ignore_index=True)
    ts = pd.to_datetime(frame["ts"], errors="coerce", utc=True).dt.tz_localize(None)
    keep = ts.isna() | ((ts >= start) & (ts < end))
    if models is not None:
        keep &= frame["model_id"].isin(list(models)) | frame["model_id"].isna()
    frame = frame[keep.to_numpy()].copy()
    frame["ts"] = ts[keep.to_numpy()].where(ts[keep.to_numpy()].notna(), None)
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
