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

INPUT_DDL = (
    """CREATE TABLE IF NOT EXISTS model_metrics (
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
    )""",
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
    added incidents and every incident's cause) in one transaction; returns rows loaded.

    A `FleetStream` is loaded a chunk of models at a time, so seeding a large fleet holds one
    chunk's rows, never the fleet's."""
    if is_seeded(wh):
        raise RuntimeError("the warehouse already holds model_metrics rows; not seeding twice")
    rows = 0
    with wh.transaction():
        for ddl in INPUT_DDL:
            wh.execute(ddl)
        for chunk in fleet.metric_chunks():
            if not rows and EXTRA_METRIC in chunk.columns:  # opt-in (`sim.life`) only
                column = f"{EXTRA_METRIC} DOUBLE PRECISION"
                wh.execute(f"ALTER TABLE model_metrics ADD COLUMN IF NOT EXISTS {column}")
            rows += wh.insert("model_metrics", chunk)
            del chunk  # the next chunk is made before the loop rebinds the name
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
        # every hourly read is a time window (and a model list): index after the bulk load
        wh.execute("CREATE INDEX IF NOT EXISTS model_metrics_ts ON model_metrics (ts, model_id)")
    log.info("seeded %d metric rows, %d incidents", rows, len(fleet.incidents))
    return rows
