"""Replay history through the hourly pipeline itself: a backfill into a scratch warehouse.

Why: to study and benchmark detection on our serving schema (a file of metrics, or hours of a
warehouse) with exactly the code the DAG runs, not a copy of it. The hours are run by
`runner.run_hour` as a backfill (no notification, no action) into a private DuckDB file that
holds a copy of the inputs: the rows of the hours and of the history before them, and, from a
warehouse, what production recorded before the first hour (the gate's and the detector's
verdicts, baseline moves and retirements), so the replay starts from where production stood.
Production is only read. A replay of hours and a backfill of the same hours on a copy of the
warehouse give the same scores and alerts.

Series of any other shape (e.g. NAB's single `value`) are replayed row by row instead:
`evaluation.replay`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.evaluation.replay import verdicts_to_rows
from modelwatch.folders import Folders
from modelwatch.ingest.connect import open_source
from modelwatch.pipeline.runner import run_hour
from modelwatch.pipeline.table import DISPATCH, DRIFT, LOGS, REMEDIATE
from modelwatch.run import RunMode, build_run
from modelwatch.warehouse import (
    Warehouse,
    WarehouseSpec,
    held_open,
    open_warehouse,
    spec_from_uri,
)
from modelwatch.warehouse.base import quote_ident
from modelwatch.warehouse.source_spec import source_spec

#: What a replay runs as: recorded, never notified nor acted on.
REPLAY = RunMode("backfill", notify=False, dry_run=True)
#: The steps a replay leaves out: the enrichments (the scratch has no logs or predictions),
#: remediation and the hour's summary and report.
SKIPPED = (LOGS, DRIFT, REMEDIATE, DISPATCH, "summary")
#: What production recorded before a replay's first hour that later hours build on.
PRIOR = ("mw_validation", "mw_scores", "mw_baselines", "mw_retirements")


class Replayed(NamedTuple):
    """What a replay found: one row per metric row (the hour's score on each, the detection on
    the hour's last row), the hours' `mw_scores` rows, and the alert episodes they opened."""

    rows: pd.DataFrame
    scores: pd.DataFrame
    alerts: pd.DataFrame


def backfill_scratch(
    scratch: WarehouseSpec, hours: Sequence[datetime], settings: Settings, folders: Folders
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run `hours` in order on the scratch warehouse; returns their `mw_scores` rows and the
    alert episodes opened in them."""
    with held_open(scratch):  # the scratch is private: one instance for the whole replay
        for hour in hours:
            run = build_run(hour, settings, scratch, folders, REPLAY, run_id="replay")
            run_hour(run, skip=SKIPPED)
        first, last = (hours[0], hours[-1]) if hours else (datetime.max, datetime.min)
        with open_warehouse(scratch) as wh:
            scores = wh.query(
                "SELECT * FROM mw_scores WHERE hour >= :a AND hour <= :b ORDER BY hour, model_id",
                {"a": first, "b": last},
            )
            alerts = wh.query(
                "SELECT * FROM mw_alerts WHERE opened_hour >= :a AND opened_hour <= :b "
                "ORDER BY opened_hour, alert_id",
                {"a": first, "b": last},
            )
    return scores, alerts


@contextmanager
def scratch_warehouse() -> Iterator[tuple[WarehouseSpec, Folders]]:
    """A private DuckDB warehouse (migrated) and folders, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mw-replay-") as tmp:
        spec = spec_from_uri(f"duckdb:///{tmp}/scratch.duckdb")
        with open_warehouse(spec, migrate=True):
            pass
        yield spec, Folders(Path(tmp) / "staging", Path(tmp) / "reports")


def _scratch_settings(settings: Settings) -> Settings:
    """The settings, reading the copied metrics from the scratch's own `model_metrics` under
    our column names (whatever the production source is: a table elsewhere, Prometheus)."""
    source = settings.source.model_copy(
        update={
            "kind": "sql",
            "conn_id": None,
            "table": "model_metrics",
            "columns": {},
            "queries": {},
        }
    )
    return settings.model_copy(update={"source": source})


def replay_frame(
    frame: pd.DataFrame, settings: Settings, start: datetime | None = None
) -> Replayed:
    """Our serving schema from a file (`model_id`, naive-UTC `ts`, the metrics): every hour it
    spans from `start` on (the rows before it are history only), as the DAG would score it."""
    ts = frame[schema.TS]
    first = ts.min().floor("h") if start is None or frame.empty else pd.Timestamp(start)
    hours = [] if frame.empty else pd.date_range(first, ts.max().floor("h"), freq="h")
    mine = _scratch_settings(settings)
    with scratch_warehouse() as (scratch, folders):
        with open_warehouse(scratch) as wh:
            wh.create_from_frame("model_metrics", frame)
        scores, alerts = backfill_scratch(
            scratch, [h.to_pydatetime() for h in hours], mine, folders
        )
    scored = frame if start is None else frame[ts >= pd.Timestamp(start)]
    return Replayed(verdicts_to_rows(scored, scores), scores, alerts)


def replay_warehouse(
    conn: str,
    start: datetime,
    end: datetime,
    models: list[str] | None = None,
    settings: Settings | None = None,
) -> Replayed:
    """Replay the hours [start, end) of the warehouse (a connection id or URI) as the hourly
    DAG scores them, reading production only."""
    from modelwatch.warehouse import warehouse_spec

    settings = settings or Settings()
    production = spec_from_uri(conn) if "://" in conn else warehouse_spec(conn)
    first = start - timedelta(days=settings.detection.history_days + 1)
    mine = _scratch_settings(settings)
    hours = list(pd.date_range(start, end, freq="h", inclusive="left"))
    with scratch_warehouse() as (scratch, folders):
        copy_inputs(production, scratch, settings, first, end, start, models)
        scores, alerts = backfill_scratch(
            scratch, [h.to_pydatetime() for h in hours], mine, folders
        )
        with open_warehouse(scratch) as wh:
            rows = wh.query(
                "SELECT * FROM model_metrics WHERE ts >= :a AND ts < :b", {"a": start, "b": end}
            )
    rows = rows.sort_values([schema.MODEL_ID, schema.TS], kind="mergesort").reset_index(drop=True)
    return Replayed(verdicts_to_rows(rows, scores), scores, alerts)


def copy_inputs(
    production: WarehouseSpec,
    scratch: WarehouseSpec,
    settings: Settings,
    first: datetime,
    end: datetime,
    start: datetime,
    models: Sequence[str] | None,
) -> None:
    """Copy into the scratch the metrics of [first, end) (read from the settings' source,
    under our column names), the labels table, and what production recorded before `start`
    (`PRIOR`)."""
    labels = settings.alerts.labels.table
    # each read opens production for itself: held for the whole replay, a DuckDB file would
    # keep the hourly DAG's tasks on it waiting until the replay ends
    with open_warehouse(production) as prod:
        with open_source(source_spec(settings, production), settings, prod) as source:
            metrics = source.read(first, end, models)
        prior = {t: _prior(prod, t, start, end) for t in PRIOR if prod.table_exists(t)}
        table = None
        if labels and prod.table_exists(labels.split(".")[-1]):
            table = prod.query(f"SELECT * FROM {quote_ident(labels)}")
    with open_warehouse(scratch) as wh:
        wh.create_from_frame("model_metrics", metrics)
        if table is not None:
            wh.create_from_frame(labels, table)
        for name, frame in prior.items():
            if len(frame):
                wh.insert(name, frame)


def _prior(wh: Warehouse, table: str, start: datetime, end: datetime) -> pd.DataFrame:
    """A recorded table's rows of the hours before `start`; for baselines also the moves
    operators accepted in [start, end), which no rule can re-derive."""
    if table == "mw_baselines":
        return wh.query(
            "SELECT * FROM mw_baselines WHERE decided_hour < :start "
            "OR (source <> 'auto' AND decided_hour < :end)",
            {"start": start, "end": end},
        )
    return wh.query(f"SELECT * FROM {quote_ident(table)} WHERE hour < :start", {"start": start})
