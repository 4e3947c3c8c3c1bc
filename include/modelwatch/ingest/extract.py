"""Read an hour's metrics, and the history its detectors train on, from the warehouse.

Columns are renamed from the warehouse's names to ours here, once, by the config's mapping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from modelwatch import schema
from modelwatch.config import Settings, SourceConfig
from modelwatch.ingest.presence import Retirement, in_service
from modelwatch.run import HOUR
from modelwatch.timestamps import naive_utc, naive_utc_columns
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident

#: Rows per Parquet row group of staged history: about three models' week of minutes, so a
#: shard reads only its own models.
HISTORY_ROW_GROUP = 32_768


class ExtractError(ValueError):
    """The source table cannot be read as the input contract says."""


def column_dtype(name: str) -> str:
    """The pandas dtype one of our columns is staged with: ids and versions are text, every
    other column the extract reads is a metric (built-in or declared in the config)."""
    if name == schema.TS:
        return "datetime64[us]"
    if name in (schema.MODEL_ID, schema.MODEL_VERSION):
        return "str"
    return "float64"


def typed_empty(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, but real column types. An empty warehouse result has object columns, which
    Arrow writes as type `null`; a Parquet file whose first part is that cannot take the next
    part's strings (`null vs string`), nor be filtered by model id."""
    return pd.DataFrame({c: pd.Series([], dtype=column_dtype(c)) for c in columns})


def _select_list(src: SourceConfig, available: set[str]) -> str:
    """Our columns (declared metrics included) that the table has, renamed; a missing
    required column is left out here and named by the validation gate's structural check."""
    parts = [
        f"{quote_ident(src.column(ours))} AS {quote_ident(ours)}"
        for ours in src.all_columns
        if src.column(ours).lower() in available
    ]
    return ", ".join(parts)


def in_models(wh: Warehouse, column: str, param: str = "models") -> str:
    """`column IN (the ids of one JSON-array parameter)`, the parameter made by `ids_param`.

    A run may name thousands of models; the warehouse's list expansion gives each id its own
    placeholder, so the SQL text grows with the list (and PostgreSQL caps a statement at
    65,535 parameters). One parameter keeps the text the same size for any number of ids,
    and the ids, whatever they contain, never become SQL.
    """
    if wh.dialect == "postgres":
        ids = f"SELECT jsonb_array_elements_text(CAST(:{param} AS jsonb))"
    else:
        ids = f"SELECT unnest(from_json(:{param}, '[\"VARCHAR\"]'))"
    return f"{column} IN ({ids})"


def ids_param(models: Sequence[str]) -> str:
    """The value of the parameter `in_models` reads: the ids as one JSON array."""
    return json.dumps([str(m) for m in models])


def source_columns(wh: Warehouse, src: SourceConfig) -> set[str]:
    """The source table's column names (lower case); fails clearly if the table is missing."""
    table = src.table.split(".")[-1]
    cols = wh.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t", {"t": table}
    )
    if cols.empty:
        raise ExtractError(f"source table {src.table!r} does not exist in the warehouse")
    return {c.lower() for c in cols["column_name"]}


def check_keys(src: SourceConfig, available: set[str]) -> None:
    """The key columns must exist before any query names them, or the error is the
    database's ("column not found") instead of one that says which setting to change."""
    for key in (schema.MODEL_ID, schema.TS):
        if src.column(key).lower() not in available:
            raise ExtractError(
                f"source table {src.table!r} has no column {src.column(key)!r} for {key!r}; "
                "map it with source.columns in the config"
            )


def read_metrics(
    wh: Warehouse,
    src: SourceConfig,
    start: datetime,
    end: datetime,
    models: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Rows with start <= ts < end, renamed to our columns; all models when `models` is None.
    A `timestamptz` `ts` comes back naive UTC: this is the metrics' input edge, nothing
    downstream converts again."""
    available = source_columns(wh, src)
    check_keys(src, available)
    ts_col = quote_ident(src.column(schema.TS))
    id_col = quote_ident(src.column(schema.MODEL_ID))
    sql = f"SELECT {_select_list(src, available)} FROM {quote_ident(src.table)} "
    sql += f"WHERE {ts_col} >= :start AND {ts_col} < :end"
    params: dict[str, object] = {"start": start, "end": end}
    if models is not None:
        sql += f" AND {in_models(wh, id_col)}"
        params["models"] = ids_param(models)
    sql += f" ORDER BY {id_col}, {ts_col}"
    got = wh.query(sql, params)
    if not len(got):
        return typed_empty(list(got.columns))
    # a typed zone-aware column is converted here; text stays text, for the gate to judge
    aware = [schema.TS] if isinstance(got[schema.TS].dtype, pd.DatetimeTZDtype) else []
    return naive_utc_columns(got, aware)


def known_models(
    wh: Warehouse, src: SourceConfig, hour: datetime, lookback: timedelta
) -> list[str]:
    """Models that reported during the lookback or this hour: the ones expected to report now."""
    ts_col = quote_ident(src.column(schema.TS))
    id_col = quote_ident(src.column(schema.MODEL_ID))
    got = wh.query(
        f"SELECT DISTINCT {id_col} AS model_id FROM {quote_ident(src.table)} "
        f"WHERE {ts_col} >= :start AND {ts_col} < :end AND {id_col} IS NOT NULL",
        {"start": hour - lookback, "end": hour + HOUR},
    )
    return sorted(got["model_id"].astype(str).tolist())


def reported_ids(wh: Warehouse, src: SourceConfig, among: Sequence[str] | None = None) -> set[str]:
    """The model ids the metrics source has ever reported (any row, any time); with `among`,
    only which of those ids it has. The one place that asks, so that operators' ids (`run
    --model`, silences, baselines) are checked against what really reports, not against our
    own tables. No source table: no model has reported."""
    if not wh.table_exists(src.table.split(".")[-1]):
        return set()
    id_col = quote_ident(src.column(schema.MODEL_ID))
    sql = f"SELECT DISTINCT {id_col} AS model_id FROM {quote_ident(src.table)} "
    sql += f"WHERE {id_col} IS NOT NULL"
    params: dict[str, object] = {}
    if among is not None:
        sql += f" AND {in_models(wh, id_col)}"
        params["models"] = ids_param(among)
    got = wh.query(sql, params)
    return set(got["model_id"].astype(str))


def data_hours(wh: Warehouse, src: SourceConfig) -> tuple[datetime, datetime] | None:
    """The first and the last hour the source table has rows in (naive UTC); None when it
    has none. What a run over past hours can cover."""
    check_keys(src, source_columns(wh, src))
    ts = quote_ident(src.column(schema.TS))
    got = wh.query(f"SELECT MIN({ts}) AS lo, MAX({ts}) AS hi FROM {quote_ident(src.table)}")
    if got.empty or pd.isna(got["lo"].iloc[0]):
        return None
    lo, hi = (naive_utc(got[c]).dt.floor("h").iloc[0].to_pydatetime() for c in ("lo", "hi"))
    return lo, hi


def version_first_seen(
    wh: Warehouse, src: SourceConfig, models: Sequence[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """(model_id, version, first_ts) of each version the models' rows in [start, end) show, with
    `first_ts` naive UTC: where deploys nobody declared are read from the metrics. Empty when
    the table has no version column."""
    cols = ["model_id", "version", "first_ts"]
    available = source_columns(wh, src)
    if not models or src.column(schema.MODEL_VERSION).lower() not in available:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    ver, ts = quote_ident(src.column(schema.MODEL_VERSION)), quote_ident(src.column(schema.TS))
    mid = quote_ident(src.column(schema.MODEL_ID))
    got = wh.query(
        f"SELECT {mid} AS model_id, {ver} AS version, MIN({ts}) AS first_ts "
        f"FROM {quote_ident(src.table)} WHERE {ts} >= :start AND {ts} < :end "
        f"AND {ver} IS NOT NULL AND {in_models(wh, mid)} GROUP BY {mid}, {ver}",
        {"start": start, "end": end, "models": ids_param(models)},
    )
    return naive_utc_columns(got, ["first_ts"])


def excluded_hours(
    wh: Warehouse, models: Sequence[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """(model_id, hour) pairs whose rows must not train a detector: hours the gate did not pass
    and hours the detector already judged anomalous."""
    if not wh.table_exists("mw_validation"):
        return pd.DataFrame({"model_id": [], "hour": []})
    ids = in_models(wh, "model_id")
    return wh.query(
        "SELECT model_id, hour FROM mw_validation "
        f"WHERE hour >= :start AND hour < :end AND status <> 'passed' AND {ids} "
        "UNION "
        "SELECT model_id, hour FROM mw_scores "
        f"WHERE hour >= :start AND hour < :end AND is_anomaly AND {ids}",
        {"start": start, "end": end, "models": ids_param(models)},
    )


@dataclass
class HourExtract:
    hour: datetime
    rows: pd.DataFrame  # the hour's rows, as delivered (validated next)
    history: pd.DataFrame  # trailing history of the expected models, minus excluded hours
    expected: list[str]  # models expected to report this hour
    excluded_history_rows: int
    #: models retired by this hour (no rows while the fleet reported; see presence.py)
    retired: list[Retirement] = field(default_factory=list)


def drop_excluded(history: pd.DataFrame, excluded: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    if history.empty or excluded.empty:
        return history, 0
    keys = pd.MultiIndex.from_arrays(
        [
            excluded["model_id"].astype(str),
            pd.to_datetime(excluded["hour"]).astype(history[schema.TS].dtype),
        ]
    )
    row_keys = pd.MultiIndex.from_arrays(
        [history[schema.MODEL_ID].astype(str), history[schema.TS].dt.floor("h")]
    )
    keep = ~row_keys.isin(keys)
    return history[keep], int((~keep).sum())


def extract_hour(
    wh: Warehouse,
    settings: Settings,
    hour: datetime,
    models: Sequence[str] | None = None,
    with_history: bool = True,
) -> HourExtract:
    """Everything detection needs for `hour`, from the warehouse, in one place.

    `with_history=False` leaves the training history out: the hourly run stages it only for
    models whose day detector is not cached (`write_training_history`), which on most hours
    is none; reading 7 days of minutes for every model every hour was the hourly run's largest
    cost (10 M rows at 1,000 models).
    """
    src = settings.source
    # fails first, and clearly, when the source table or one of its key columns is missing
    check_keys(src, source_columns(wh, src))
    retired: list[Retirement] = []
    if models:
        expected = sorted(set(models))
    else:  # known in the lookback, minus the retired (silent while the fleet reported)
        expected, retired = in_service(wh, settings, hour)
    rows = read_metrics(wh, src, hour, hour + HOUR, models=list(models) if models else None)
    # each day's detectors train on the `history_days` before the day began (see detect.py),
    # whichever hour of the day runs first; so that is the history an hour reads, if any
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    if not with_history or not expected:
        return HourExtract(hour, rows, typed_empty(list(rows.columns)), expected, 0, retired)
    history, n_excluded = read_training_history(wh, settings, expected, day)
    return HourExtract(hour, rows, history, expected, n_excluded, retired)


def read_training_history(
    wh: Warehouse,
    settings: Settings,
    models: Sequence[str],
    day: datetime,
    until: datetime | None = None,
    baselines: Mapping[str, tuple[datetime, datetime]] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The rows `day`'s detectors of `models` train on: the `history_days` before the day
    (up to `until`, for models warming up), minus the hours that must not train a detector;
    and how many rows were left out.

    `baselines`: model -> (since, decided hour) of its baseline, for the models whose baseline
    moved: the anomalous hours of the change itself, [since, decided), are its new level and
    do train its detectors.
    """
    start = day - timedelta(days=settings.detection.history_days)
    end = max(until or day, day)
    history = read_metrics(wh, settings.source, start, end, models=list(models))
    excluded = excluded_hours(wh, models, start, end)
    if baselines and len(excluded):
        hours = pd.to_datetime(excluded["hour"])
        keep = pd.Series(True, index=excluded.index)
        for model_id, (since, decided) in baselines.items():
            own = excluded["model_id"].astype(str) == model_id
            keep &= ~(own & (hours >= pd.Timestamp(since)) & (hours < pd.Timestamp(decided)))
        excluded = excluded[keep]
    return drop_excluded(history, excluded)


def write_training_history(
    wh: Warehouse,
    settings: Settings,
    models: Sequence[str],
    day: datetime,
    path: Path,
    models_per_read: int = 250,
    row_group_size: int = 32_768,
    until: datetime | None = None,
    baselines: Mapping[str, tuple[datetime, datetime]] | None = None,
) -> tuple[int, int]:
    """Write `day`'s training history of `models` to one Parquet file, sorted by model, a
    few hundred models at a time; returns (rows written, rows left out).

    Why in parts: 7 days of minutes is 10 M rows per 1,000 models, and as one DataFrame (with
    the exclusion's keys) it took about 6 GB of memory; a part of 250 models takes a fortieth
    of that per 1,000 models, whatever the fleet's size. Small row groups let each detect shard
    read only its own models. The file's schema is fixed up front from our column types, not
    taken from the first part, which may be empty (a model without history sorted first).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    ordered = sorted(models)
    written = left_out = 0
    writer: pq.ParquetWriter | None = None
    try:
        for i in range(0, len(ordered), models_per_read):
            chunk = ordered[i : i + models_per_read]
            part, n_out = read_training_history(wh, settings, chunk, day, until, baselines)
            left_out += n_out
            table = pa.Table.from_pandas(part, preserve_index=False)
            if writer is None:
                typed = typed_empty(list(part.columns))
                writer = pq.ParquetWriter(path, pa.Schema.from_pandas(typed, preserve_index=False))
            writer.write_table(table.cast(writer.schema), row_group_size=row_group_size)
            written += len(part)
    finally:
        if writer is not None:
            writer.close()
    return written, left_out
