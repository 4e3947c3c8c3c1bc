"""The detection stage's stored facts: recent scores, deploys, `mw_baselines`, overrides.

Loads what a baseline decision needs (`baselines.decide_at` is the rule), records the moves
the hour decided and an operator's accept (`modelwatch baseline accept`), and stages each
model's detection overrides for the shards.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.config import Settings, per_model_detection
from modelwatch.detection.baselines import (
    AUTO,
    OPERATOR,
    Baseline,
    baselines_frame,
    decide_at,
    in_effect,
    lookback_hours,
    streak_start,
)
from modelwatch.ingest.source import MetricsSource
from modelwatch.labels import override_labels
from modelwatch.run import HOUR
from modelwatch.storage import StorePath
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import ids_param, in_models

log = logging.getLogger(__name__)


def recent_scores(wh: Warehouse, models: Sequence[str], hour: datetime, hours: int) -> pd.DataFrame:
    """The last `hours` hours of scores of the models with an anomalous hour among them."""
    if not models:
        return pd.DataFrame(columns=["model_id", "hour", "status", "is_anomaly", "explanation"])
    ids = in_models(wh, "model_id")
    return wh.query(
        "SELECT model_id, hour, status, is_anomaly, explanation FROM mw_scores "
        f"WHERE hour >= :start AND hour < :hour AND model_id IN ("
        "SELECT model_id FROM mw_scores WHERE hour >= :start AND hour < :hour AND is_anomaly "
        f"AND {ids})",
        {"start": hour - timedelta(hours=hours), "hour": hour, "models": ids_param(models)},
    )


def version_changes(
    source: MetricsSource, models: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[datetime]]:
    """When each model's rows first showed a version it had not shown since `start - 1h`
    (none when the source has no versions)."""
    got = source.versions(models, start - HOUR, end) if models else None
    if got is None:
        return {}
    out: dict[str, list[datetime]] = {}
    for r in got.itertuples(index=False):
        first = pd.Timestamp(r.first_ts).to_pydatetime()
        if first >= start:
            out.setdefault(str(r.model_id), []).append(first)
    return out


def load_baselines(
    wh: Warehouse, models: Sequence[str], hour: datetime, keep_days: int
) -> dict[str, Baseline]:
    """Each model's latest baseline move decided at or before `hour` (and recent enough to
    matter: its onset within `keep_days` + 1 of the hour)."""
    if not models or not wh.table_exists("mw_baselines"):
        return {}
    got = wh.query(
        "SELECT model_id, decided_hour, since, source, actor, reason FROM mw_baselines "
        f"WHERE decided_hour <= :hour AND since >= :oldest AND {in_models(wh, 'model_id')} "
        "ORDER BY model_id, decided_hour",
        {"hour": hour, "oldest": hour - timedelta(days=keep_days + 1), "models": ids_param(models)},
    )
    return in_effect(_moves(got), hour, keep_days)


def operator_moves(wh: Warehouse, start: datetime, end: datetime) -> list[Baseline]:
    """The moves operators accepted for the hours [start, end) (a replay re-derives the
    automatic ones, but not these)."""
    if not wh.table_exists("mw_baselines"):
        return []
    got = wh.query(
        "SELECT model_id, decided_hour, since, source, actor, reason FROM mw_baselines "
        "WHERE decided_hour >= :start AND decided_hour < :end AND source <> :auto",
        {"start": start, "end": end, "auto": AUTO},
    )
    return _moves(got)


def _moves(got: pd.DataFrame) -> list[Baseline]:
    return [
        Baseline(
            str(r.model_id),
            pd.Timestamp(r.decided_hour).to_pydatetime(),
            pd.Timestamp(r.since).to_pydatetime(),
            str(r.source),
            None if pd.isna(r.actor) else str(r.actor),
            "" if pd.isna(r.reason) else str(r.reason),
        )
        for r in got.itertuples(index=False)
    ]


def decide_hour(
    wh: Warehouse,
    source: MetricsSource,
    settings: Settings,
    models: Sequence[str],
    hour: datetime,
) -> dict[str, Baseline]:
    """Decide and record this hour's automatic moves (replacing what a rerun of the hour
    decided before), and return every model's baseline in effect for the hour."""
    keep = settings.detection.history_days
    window = lookback_hours(settings.fleet_life)
    current = load_baselines(wh, models, hour - HOUR, keep)
    scores = recent_scores(wh, models, hour, window)
    moves: list[Baseline] = []
    if len(scores):
        anomalous = sorted(scores["model_id"].astype(str).unique())
        deploys = version_changes(source, anomalous, hour - timedelta(hours=window), hour)
        accepted = [
            m
            for m, b in load_baselines(wh, models, hour, keep).items()
            if b.decided_hour == hour and b.source != AUTO
        ]
        moves = decide_at(hour, scores, deploys, current, accepted, settings)
    wh.replace(
        "mw_baselines",
        baselines_frame(moves, None),
        "decided_hour = :hour AND source = :auto AND model_id IN :models",
        {"hour": hour, "auto": AUTO, "models": list(models)},
    )
    return load_baselines(wh, models, hour, keep)


def accept(
    wh: Warehouse,
    model_id: str,
    actor: str,
    reason: str,
    recorded_at: datetime,
    hour: datetime | None = None,
) -> Baseline:
    """An operator accepts the model's current level as normal: from the next hour processed
    (or `hour`) on, its detectors learn from the onset of its current anomalous run (or from
    that hour, if it is not anomalous)."""
    if hour is None:
        latest = wh.query(
            "SELECT MAX(hour) AS h FROM mw_scores WHERE model_id = :m", {"m": model_id}
        )["h"].iloc[0]
        if pd.isna(latest):
            raise ValueError(f"model {model_id!r} has no scored hour yet; nothing to accept")
        hour = pd.Timestamp(latest).to_pydatetime() + HOUR
    rows = wh.query(
        "SELECT model_id, hour, status, is_anomaly, explanation FROM mw_scores "
        "WHERE model_id = :m AND hour >= :start AND hour < :hour",
        {"m": model_id, "start": hour - timedelta(days=7), "hour": hour},
    )
    since = streak_start(rows, hour, None) or hour
    move = Baseline(model_id, hour, since, OPERATOR, actor, reason)
    wh.replace(
        "mw_baselines",
        baselines_frame([move], recorded_at),
        "decided_hour = :hour AND model_id = :m",
        {"hour": hour, "m": model_id},
    )
    return move


# --- per-model detection settings, staged for the shards ---------------------------------
# Why staged: the shards run in parallel and do not read the warehouse on a normal hour; the
# labels overrides match on are read once, where the warehouse is open anyway, and every shard
# then scores (and finds its cached detectors) with the same settings.


def stage_detection_changes(
    wh: Warehouse, settings: Settings, models: Sequence[str], path: StorePath
) -> dict[str, dict[str, Any]]:
    """Resolve the models' detection overrides and write them to `path` (always, so a rerun
    with the overrides removed does not read a stale file)."""
    changes: dict[str, dict[str, Any]] = {}
    if settings.overrides:
        labels = override_labels(wh, settings, models)
        changes = per_model_detection(settings.overrides, models, labels)
    if changes:
        log.info("detection overrides for %d models: %s", len(changes), changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(changes, sort_keys=True))
    return changes


def read_detection_changes(path: StorePath) -> dict[str, dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else {}
