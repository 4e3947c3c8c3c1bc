"""Load a simulated fleet into a warehouse: the input tables the pipeline reads.

The input tables belong to the user's warehouse, not to modelwatch; the demo creates them here
with the documented contract. Seeding refuses to load twice, so `make demo` can be rerun safely.
"""

from __future__ import annotations

import logging

from modelwatch.sim.fleet import Fleet
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


def is_seeded(wh: Warehouse) -> bool:
    if not wh.table_exists("model_metrics"):
        return False
    return int(wh.query("SELECT COUNT(*) AS n FROM model_metrics")["n"].iloc[0]) > 0


def seed(wh: Warehouse, fleet: Fleet) -> int:
    """Create the input tables and load the fleet in one transaction; returns rows loaded."""
    if is_seeded(wh):
        raise RuntimeError("the warehouse already holds model_metrics rows; not seeding twice")
    with wh.transaction():
        for ddl in INPUT_DDL:
            wh.execute(ddl)
        wh.insert("model_metrics", fleet.metrics)
        wh.insert("incidents", fleet.incidents)
        wh.insert("models", fleet.models)
        if fleet.predictions is not None:
            wh.execute(PREDICTIONS_DDL)
            wh.insert("model_predictions", fleet.predictions)
            wh.execute("CREATE INDEX IF NOT EXISTS model_predictions_ts ON model_predictions (ts)")
        # every hourly read is a time window (and a model list): index after the bulk load
        wh.execute("CREATE INDEX IF NOT EXISTS model_metrics_ts ON model_metrics (ts, model_id)")
    log.info("seeded %d metric rows, %d incidents", len(fleet.metrics), len(fleet.incidents))
    return len(fleet.metrics)
