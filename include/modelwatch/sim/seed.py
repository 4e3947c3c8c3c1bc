"""Load a simulated fleet into a warehouse: the input tables the pipeline reads.

The input tables belong to the user's warehouse, not to modelwatch; the demo creates them here
with the documented contract. Seeding refuses to load twice, so `make demo` can be rerun safely.
"""

from __future__ import annotations

import logging

from modelwatch.sim.fleet import Fleet, FleetStream
from modelwatch.sim.life import EXTRA_METRIC
from modelwatch.sim.story import Story
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)

#: The metrics table's DDL, for the table and for the table a seed loads before it has all rows.
METRICS_DDL = """CREATE TABLE IF NOT EXISTS {table} (
        model_id VARCHAR,
        ts TIMESTAMP,
        request_rate DOUBLE PRECISION,
        latency_p50_ms DOUBLE PRECISION,
        latency_p95_ms DOUBLE PRECISION,
        latency_p99_ms DOUBLE PRECISION,
        error_rate DOUBLE PRECISION,
        cpu_util DOUBLE PRECISION,
        memory_util DOUBLE PRECISION,
        replicas BIGINT,
        prediction_mean DOUBLE PRECISION,
        model_version VARCHAR
    )"""
#: Where a seed's metric rows land until the last of them: committed a chunk at a time (one
#: transaction of a large fleet's rows would hold them all in memory), then renamed to
#: model_metrics with the other tables, so an interrupted seed never looks seeded.
LOADING = "model_metrics_loading"
INPUT_DDL = (
    METRICS_DDL.format(table="model_metrics"),
    """CREATE TABLE IF NOT EXISTS incidents (
        model_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        "start" TIMESTAMP NOT NULL,
        "end" TIMESTAMP NOT NULL,
        detail VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS models (
        model_id VARCHAR NOT NULL PRIMARY KEY,
        team VARCHAR NOT NULL,
        tier VARCHAR NOT NULL,
        base_replicas BIGINT NOT NULL
    )""",
)
#: The optional predictions table (drift); created only for a fleet simulated with predictions.
PREDICTIONS_DDL = """CREATE TABLE IF NOT EXISTS model_predictions (
    ts TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    prediction DOUBLE PRECISION,
    label DOUBLE PRECISION
)"""


#: The troubleshooting inputs (docs/hints.md), loaded only with a story.
STORY_DDL = (
    """CREATE TABLE IF NOT EXISTS model_logs (
        ts TIMESTAMP, model_id VARCHAR, level VARCHAR, message VARCHAR, logger VARCHAR,
        trace_id VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS model_changes (
        change_id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, model_id VARCHAR, selector VARCHAR,
        kind VARCHAR NOT NULL, detail VARCHAR, actor VARCHAR
    )""",
    """CREATE TABLE IF NOT EXISTS model_labels (
        model_id VARCHAR NOT NULL, label VARCHAR NOT NULL, value VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS incident_causes (
        model_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, "start" TIMESTAMP NOT NULL,
        cause_kind VARCHAR NOT NULL, cause_ref VARCHAR NOT NULL
    )""",
)


def is_seeded(wh: Warehouse) -> bool:
    if not wh.table_exists("model_metrics"):
        return False
    return int(wh.query("SELECT COUNT(*) AS n FROM model_metrics")["n"].iloc[0]) > 0


def seed(wh: Warehouse, fleet: Fleet | FleetStream, story: Story | None = None) -> int:
    """Create the input tables and load the fleet (and its story: logs, changes, labels, the
    added incidents and every incident's cause); returns the metric rows loaded.

    The metric rows are committed a chunk at a time into a loading table (a `FleetStream`
    makes them a chunk of models at a time, so seeding a large fleet holds one chunk, never the
    fleet); the last transaction renames it to model_metrics and loads everything else, so
    the warehouse is seeded all at once or not at all."""
    if is_seeded(wh):
        raise RuntimeError("the warehouse already holds model_metrics rows; not seeding twice")
    rows = 0
    with wh.bulk_load():
        with wh.transaction():
            wh.execute(f"DROP TABLE IF EXISTS {LOADING}")  # an interrupted seed's rows
            wh.execute(METRICS_DDL.format(table=LOADING))
        for chunk in fleet.metric_chunks():
            if not rows and EXTRA_METRIC in chunk.columns:  # opt-in (`sim.life`) only
                column = f"{EXTRA_METRIC} DOUBLE PRECISION"
                wh.execute(f"ALTER TABLE {LOADING} ADD COLUMN IF NOT EXISTS {column}")
            rows += wh.insert(LOADING, chunk)
            del chunk  # the next chunk is made before the loop rebinds the name
        with wh.transaction():
            wh.execute("DROP TABLE IF EXISTS model_metrics")  # none, or empty (not seeded)
            wh.execute(f"ALTER TABLE {LOADING} RENAME TO model_metrics")
            for ddl in INPUT_DDL:
                wh.execute(ddl)
            _load_tables(wh, fleet, story)
            if wh.dialect != "duckdb":
                # every hourly read is a time window (and a model list), and a plot or a rerun
                # of a few models reads their rows over hours or days: index both, after the load
                wh.execute(
                    "CREATE INDEX IF NOT EXISTS model_metrics_ts ON model_metrics (ts, model_id)"
                )
                wh.execute(
                    "CREATE INDEX IF NOT EXISTS model_metrics_model ON model_metrics (model_id, ts)"
                )
            # DuckDB scans instead: its index is built in memory (3.6 GB more at 3,000 models,
            # out of memory in 2 GB at 10,000) and spared an hour's read of 1,000 models 0.08 s
    log.info("seeded %d metric rows, %d incidents", rows, len(fleet.incidents))
    return rows


def _load_tables(wh: Warehouse, fleet: Fleet | FleetStream, story: Story | None) -> None:
    """Everything but the metric rows: the fleet's incidents, models, predictions, story."""
    wh.insert("incidents", fleet.incidents)
    wh.insert("models", fleet.models)
    if fleet.predictions is not None:
        wh.execute(PREDICTIONS_DDL)
        wh.insert("model_predictions", fleet.predictions)
        wh.execute("CREATE INDEX IF NOT EXISTS model_predictions_ts ON model_predictions (ts)")
    if story is not None:
        for ddl in STORY_DDL:
            wh.execute(ddl)
        wh.insert("incidents", story.incidents)
        wh.insert("model_logs", story.logs)
        wh.insert("model_changes", story.changes)
        wh.insert("model_labels", story.labels)
        wh.insert("incident_causes", story.causes)
        wh.execute("CREATE INDEX IF NOT EXISTS model_logs_ts ON model_logs (ts)")
