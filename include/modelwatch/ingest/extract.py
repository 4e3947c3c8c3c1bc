"""Read an hour's metrics, and the history its detectors train on, from the fleet's source.

Every read goes through the run's `MetricsSource` (`source.py`): a SQL table or Prometheus,
each frame already through the one input edge (`normalise.py`). The warehouse is read here only
for our own verdicts (which hours may train a detector).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.ingest.normalise import typed_empty
from modelwatch.ingest.presence import Retirement, in_service
from modelwatch.ingest.regroup import by_parts
from modelwatch.ingest.source import MetricsSource, SourceError
from modelwatch.run import HOUR
from modelwatch.storage import StorePath, parquet_writer
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import ids_param, in_models

#: Rows per Parquet row group of staged history: about three models' week of minutes, so a
#: shard reads only its own models.
HISTORY_ROW_GROUP = 32_768

#: The source cannot be read as the input contract says (the message names the setting).
ExtractError = SourceError


def known_models(source: MetricsSource, hour: datetime, lookback: timedelta) -> list[str]:
    """Models that reported during the lookback or this hour: the ones expected to report now."""
    return source.reporting(hour - lookback, hour + HOUR)


def reported_ids(source: MetricsSource, among: Sequence[str] | None = None) -> set[str]:
    """The model ids the metrics source has ever reported (any row, any time); with `among`,
    only which of those ids it has. The one place that asks, so that operators' ids (`run
    --model`, silences, baselines) are checked against what really reports, not against our
    own tables. No source table: no model has reported."""
    return source.reported(among)


def data_hours(source: MetricsSource) -> tuple[datetime, datetime] | None:
    """The first and the last hour the source has rows in (naive UTC); None when it has none.
    What a run over past hours can cover."""
    return source.span()


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
    source: MetricsSource,
    settings: Settings,
    hour: datetime,
    models: Sequence[str] | None = None,
    with_history: bool = True,
) -> HourExtract:
    """Everything detection needs for `hour`, from the source (and our verdicts in the
    warehouse), in one place.

    `with_history=False` leaves the training history out: the hourly run stages it only for
    models whose day detector is not cached (`write_training_history`), which on most hours
    is none; reading 7 days of minutes for every model every hour was the hourly run's largest
    cost (10 M rows at 1,000 models).
    """
    # fails first, and clearly, when the source table or one of its key columns is missing
    source.check()
    retired: list[Retirement] = []
    if models:
        expected = sorted(set(models))
    else:  # known in the lookback, minus the retired (silent while the fleet reported)
        expected, retired = in_service(source, settings, hour)
    rows = source.read(hour, hour + HOUR, models=list(models) if models else None)
    # each day's detectors train on the `history_days` before the day began (see detect.py),
    # whichever hour of the day runs first; so that is the history an hour reads, if any
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    if not with_history or not expected:
        return HourExtract(hour, rows, typed_empty(list(rows.columns)), expected, 0, retired)
    history, n_excluded = read_training_history(wh, source, settings, expected, day)
    return HourExtract(hour, rows, history, expected, n_excluded, retired)


def training_window(
    settings: Settings, day: datetime, until: datetime | None
) -> tuple[datetime, datetime]:
    """[start, end) of `day`'s training history: the `history_days` before the day, up to
    `until` for models warming up."""
    return day - timedelta(days=settings.detection.history_days), max(until or day, day)


def read_training_history(
    wh: Warehouse,
    source: MetricsSource,
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
    start, end = training_window(settings, day, until)
    history = source.read(start, end, models=list(models))
    return trainable(wh, history, models, start, end, baselines)


def trainable(
    wh: Warehouse,
    history: pd.DataFrame,
    models: Sequence[str],
    start: datetime,
    end: datetime,
    baselines: Mapping[str, tuple[datetime, datetime]] | None = None,
) -> tuple[pd.DataFrame, int]:
    """`history` of `models` in [start, end) without the hours that must not train a
    detector (see `read_training_history`), and how many rows those were."""
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
    source: MetricsSource,
    settings: Settings,
    models: Sequence[str],
    day: datetime,
    path: StorePath,
    models_per_read: int = 250,
    row_group_size: int = HISTORY_ROW_GROUP,
    until: datetime | None = None,
    baselines: Mapping[str, tuple[datetime, datetime]] | None = None,
) -> tuple[int, int]:
    """Write `day`'s training history of `models` to one Parquet file, sorted by model, a
    few hundred models at a time; returns (rows written, rows left out).

    Why in parts: 7 days of minutes is 10 M rows per 1,000 models, and as one DataFrame (with
    the exclusion's keys) it took about 6 GB of memory; a part of 250 models takes a fortieth
    of that per 1,000 models, whatever the fleet's size. More than one part's models are read
    from the source in one streamed read, regrouped into parts (`regroup.py`), where a read
    per part scans the source's window once per part (at 10,000 models, forty scans of a
    week). Small row groups let each detect shard read only its own models. The file's
    schema is fixed up front from our column types, not taken from the first part, which may
    be empty (a model without history sorted first).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    ordered = sorted(set(models))
    parts = [ordered[i : i + models_per_read] for i in range(0, len(ordered), models_per_read)]
    start, end = training_window(settings, day, until)
    stream = source.stream(start, end) if len(parts) > 1 else None
    if stream is None:
        frames: Iterable[pd.DataFrame] = (source.read(start, end, models=p) for p in parts)
    else:
        frames = by_parts(stream, parts)
    written = left_out = 0
    writer: pq.ParquetWriter | None = None
    with ExitStack() as files:  # the writer (and a store's upload) ends with the loop
        for chunk, rows in zip(parts, frames, strict=True):
            part, n_out = trainable(wh, rows, chunk, start, end, baselines)
            left_out += n_out
            table = pa.Table.from_pandas(part, preserve_index=False)
            if writer is None:
                typed = typed_empty(list(part.columns))
                schema = pa.Schema.from_pandas(typed, preserve_index=False)
                writer = files.enter_context(parquet_writer(path, schema))
            writer.write_table(table.cast(writer.schema), row_group_size=row_group_size)
            written += len(part)
    return written, left_out
