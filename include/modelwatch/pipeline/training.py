"""Fit every model's detector for a day before the day's hourly runs need it.

Why: a day's detectors train on the `history_days` of rows before the day began
(10 M rows at 1,000 models). Fitted inside the day's first hourly run, that work makes one run a
day several times slower than the others; the `model_training` DAG does it once the previous
day's last hour is scored (its anomalies stay out of training), and the hourly runs only load
the detectors. It uses the very function the hourly detect step fits with
(`detection.score.day_detector`) and the same cache, so a detector trained here is the one the
hourly run would have fitted: scores never depend on which of the two fitted it. If training did
not run, the hourly run fits what is missing itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.detection.per_model import ModelDetection
from modelwatch.detection.score import day_detector
from modelwatch.detection.tables import read_detection_changes, stage_detection_changes
from modelwatch.folders import Folders
from modelwatch.ingest.connect import open_source
from modelwatch.ingest.extract import HISTORY_ROW_GROUP, known_models, write_training_history
from modelwatch.logs.step import train_day
from modelwatch.run import HOUR, Staging, WindowError, detector_cache, parse_hour
from modelwatch.sharding import split_models
from modelwatch.storage import children, read_parquet_of, remove_tree
from modelwatch.timestamps import to_naive_utc
from modelwatch.warehouse import WarehouseSpec, open_warehouse
from modelwatch.warehouse.source_spec import source_spec

log = logging.getLogger(__name__)


def resolve_day(param_day: str | None, data_interval_end: datetime | None) -> datetime:
    """The day to train for: the `day` param, else the day that begins as the run's interval
    (the previous day) ends."""
    if param_day not in (None, ""):
        text = str(param_day).strip()
        when = parse_hour(text if "T" in text else f"{text}T00:00:00Z")
    elif data_interval_end is not None:
        when = to_naive_utc(data_interval_end)
    else:
        raise WindowError("no day to train for: give the `day` param (YYYY-MM-DD)")
    if when.hour or when.minute:
        raise WindowError(f"{param_day or when} is not the start of a day (00:00 UTC)")
    return when


def last_hour_recorded(spec: WarehouseSpec, day: datetime) -> bool:
    """Has model_health recorded the hour before `day` (so its anomalies are known)?"""
    with open_warehouse(spec) as wh:
        if not wh.table_exists("mw_runs"):
            return False
        got = wh.query("SELECT 1 AS one FROM mw_runs WHERE hour = :h", {"h": day - HOUR})
    return not got.empty


def stage_training(
    spec: WarehouseSpec, settings: Settings, day: datetime, folders: Folders
) -> list[list[str]]:
    """Stage the training history of every model whose detector for `day` is not cached yet;
    returns them in shards (none when all are cached: a rerun does nothing)."""
    lookback = timedelta(days=settings.detection.history_days)
    staged = Staging(folders.training(day))
    folder = staged.folder
    for old in children(folder.parent, r"[0-9]{8}"):  # earlier days' leftovers
        if old.name < folder.name:
            remove_tree(old)
    metrics = source_spec(settings, spec)
    with open_warehouse(spec, migrate=True) as wh, open_source(metrics, settings, wh) as source:
        source.check()
        known = known_models(source, day - HOUR, lookback - HOUR)
        labels = source.companion(wh)  # the labels overrides match on
        changes = stage_detection_changes(labels, settings, known, staged.overrides)
        cache = detector_cache(folders, metrics, settings)
        per = ModelDetection(settings.detection, changes, cache)
        models = per.not_cached(known, day)
        if not models:
            log.info("every detector for %s is fitted already", day.date())
            return []
        rows, left_out = write_training_history(
            wh, source, settings, models, day, staged.history, row_group_size=HISTORY_ROW_GROUP
        )
    log.info(
        "staged %d history rows of %d models for %s (%d rows left out)",
        rows,
        len(models),
        day.date(),
        left_out,
    )
    return split_models(models, settings.shard_size, settings.shard_max_models)


def train_shard(
    spec: WarehouseSpec, settings: Settings, day: datetime, shard: list[str], folders: Folders
) -> dict[str, Any]:
    """Fit and cache the day's detector of each model in the shard (skipping cached ones)."""
    staged = Staging(folders.training(day))
    changes = read_detection_changes(staged.overrides)
    cache = detector_cache(folders, source_spec(settings, spec), settings)
    per = ModelDetection(settings.detection, changes, cache)
    history = read_parquet_of(staged.history, schema.MODEL_ID, shard)
    groups = dict(tuple(history.groupby(schema.MODEL_ID, sort=False)))
    fitted, too_short = 0, []
    for model_id in shard:
        own = groups.get(model_id, history.iloc[0:0])
        det, _ = day_detector(model_id, own, day, per.cfg(model_id), per.store(model_id))
        if det is None:
            too_short.append(model_id)
        else:
            fitted += 1
    log.info(
        "fitted %d detectors for %s; %d models lack history", fitted, day.date(), len(too_short)
    )
    return {"fitted": fitted, "insufficient_history": too_short}


def train_log_templates(spec: WarehouseSpec, settings: Settings, day: datetime) -> dict[str, Any]:
    """Learn the day's log templates and baseline (`logs.step.train_day`): the hourly `logs`
    task then only matches lines. Without logs configured it does nothing."""
    if settings.logs.source == "none":
        return {"day": day.isoformat(), "skipped": "logs.source is none"}
    metrics = source_spec(settings, spec)
    with open_warehouse(spec, migrate=True) as wh, open_source(metrics, settings, wh) as source:
        lines = source.companion(wh) if settings.logs.source == "sql" else wh
        return train_day(wh, settings, day, lines)
