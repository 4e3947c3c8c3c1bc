"""The hints stage's stored facts: what `build.build_hints` ranks, read in one place.

Everything is read from stored facts (changes, metrics versions, log counts and baselines,
scores, drift, labels), so a rebuild of the same hour finds the same hints, like the alerts
themselves. Each input is optional: a missing table gives an empty frame, never an error.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

from modelwatch.config import Settings
from modelwatch.hints.changes import ACTED
from modelwatch.hints.model import AlertRef
from modelwatch.ingest.extract import version_first_seen
from modelwatch.labels import LabelSets, all_labels
from modelwatch.logs.masking import mask_secrets
from modelwatch.logs.store import COUNT_COLUMNS
from modelwatch.run import HOUR
from modelwatch.timestamps import naive_utc_columns
from modelwatch.untrusted import strip_control
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident


@dataclass(frozen=True)
class HintFacts:
    """Everything the hints of one hour's alerts are computed from."""

    labels: LabelSets
    declared: pd.DataFrame  # model_changes rows of the window
    inferred: pd.DataFrame  # version changes seen in the metrics
    actions: pd.DataFrame  # our own remediation requests that acted
    trouble: pd.DataFrame  # anomalous or silent (model, hour) pairs
    counts: pd.DataFrame  # log signature counts per hour
    baseline: pd.DataFrame  # the day's log baseline profile
    drift: pd.DataFrame  # drifted features


def window(settings: Settings, alerts: list[AlertRef], hour: datetime) -> tuple[datetime, datetime]:
    """[start, end): the hours hints look at, from the change window before the earliest
    alert's trouble to the end of `hour`."""
    began = min(a.began for a in alerts)
    return began - timedelta(hours=settings.hints.change_window_hours), hour + HOUR


def load_facts(
    wh: Warehouse, settings: Settings, alerts: list[AlertRef], hour: datetime
) -> HintFacts:
    """The stored facts the hints of `alerts` at `hour` need."""
    start, end = window(settings, alerts, hour)
    began = min(a.began for a in alerts)
    models = sorted({a.model_id for a in alerts} | {m for a in alerts for m in a.fleet_models})
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    return HintFacts(
        labels=all_labels(wh, settings),
        declared=load_changes(wh, settings, start, end),
        inferred=inferred_deploys(wh, settings, models, start - HOUR, end),
        actions=self_actions(wh, models, start - HOUR, end),
        trouble=load_trouble(wh, began - HOUR, hour),
        counts=load_counts(wh, began - HOUR, hour),
        baseline=load_baseline(wh, day),
        drift=load_drift(wh, began - HOUR, hour),
    )


def load_counts(wh: Warehouse, start: datetime, end: datetime) -> pd.DataFrame:
    """Every model's signature counts for the hours [start, end]."""
    if not wh.table_exists("mw_log_counts"):
        return pd.DataFrame(columns=COUNT_COLUMNS)
    return wh.query(
        "SELECT * FROM mw_log_counts WHERE hour >= :s AND hour <= :e", {"s": start, "e": end}
    )


def load_baseline(wh: Warehouse, day: datetime) -> pd.DataFrame:
    if not wh.table_exists("mw_log_baseline"):
        return pd.DataFrame(
            columns=["model_id", "template_id", "level", "hour_of_day", "total", "first_seen"]
        )
    return wh.query(
        "SELECT model_id, template_id, level, hour_of_day, total, first_seen FROM "
        "mw_log_baseline WHERE day = :d",
        {"d": day},
    )


def load_trouble(wh: Warehouse, start: datetime, end: datetime) -> pd.DataFrame:
    """(model_id, hour) of every anomalous or silent model-hour in [start, end]."""
    return wh.query(
        "SELECT model_id, hour FROM mw_scores WHERE is_anomaly AND hour >= :s AND hour <= :e "
        "UNION SELECT model_id, hour FROM mw_validation WHERE status = 'no_data' "
        "AND hour >= :s AND hour <= :e",
        {"s": start, "e": end},
    )


def load_drift(wh: Warehouse, start: datetime, end: datetime) -> pd.DataFrame:
    if not wh.table_exists("mw_drift"):
        return pd.DataFrame(columns=["hour", "model_id", "feature", "test", "statistic", "p_value"])
    return wh.query(
        "SELECT hour, model_id, feature, test, statistic, p_value FROM mw_drift "
        "WHERE drifted AND hour >= :s AND hour <= :e",
        {"s": start, "e": end},
    )


def load_changes(wh: Warehouse, settings: Settings, start: datetime, end: datetime) -> pd.DataFrame:
    """Declared changes in [start, end), if the table exists."""
    table = settings.hints.changes_table
    cols = ["change_id", "ts", "model_id", "selector", "kind", "detail", "actor"]
    if not wh.table_exists(table.split(".")[-1]):
        return pd.DataFrame(columns=cols)
    have = set(
        wh.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t",
            {"t": table.split(".")[-1]},
        )["column_name"].str.lower()
    )
    sel = ", ".join(c if c in have else f"NULL AS {c}" for c in cols)
    got = wh.query(
        f"SELECT {sel} FROM {quote_ident(table)} WHERE ts >= :s AND ts < :e ORDER BY ts",
        {"s": start, "e": end},
    )
    return clean_changes(got)


def clean_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """The input edge of declared changes: `ts` naive UTC (a `timestamptz` column too), and
    the text shown to on-call (detail, actor, kind, selector, id) on one line without control
    characters, with secrets in the detail masked (a pasted `password=...` or token)."""
    out = naive_utc_columns(changes, ["ts"]).copy()
    for col in ("change_id", "kind", "selector", "actor", "detail"):
        if col in out:
            out[col] = [None if _missing(v) else strip_control(v) for v in out[col]]
    if "detail" in out:
        out["detail"] = [None if v is None else mask_secrets(v) for v in out["detail"]]
    return out


def _missing(value: object) -> bool:
    return not isinstance(value, str) and bool(pd.isna(value))


def inferred_deploys(
    wh: Warehouse, settings: Settings, models: list[str], start: datetime, end: datetime
) -> pd.DataFrame:
    """(model_id, ts, old, new) for each version first seen after `start` (from the metrics)."""
    got = version_first_seen(wh, settings.source, models, start, end)
    out = []
    for model, g in got.sort_values(["model_id", "first_ts", "version"]).groupby("model_id"):
        versions = g.to_dict("records")
        for prev, cur in itertools.pairwise(versions):
            out.append(
                {
                    "model_id": model,
                    "ts": cur["first_ts"],
                    "old": prev["version"],
                    "new": cur["version"],
                }
            )
    return pd.DataFrame(out, columns=["model_id", "ts", "old", "new"])


def self_actions(wh: Warehouse, models: list[str], start: datetime, end: datetime) -> pd.DataFrame:
    if not wh.table_exists("mw_remediation_requests"):
        return pd.DataFrame(columns=["request_id", "model_id", "hour", "action", "status"])
    return wh.query(
        "SELECT request_id, model_id, hour, action, status, status_reason FROM "
        "mw_remediation_requests WHERE model_id IN :m AND hour >= :s AND hour < :e "
        "AND status IN :acted",
        {"m": models, "s": start, "e": end, "acted": list(ACTED)},
    )
