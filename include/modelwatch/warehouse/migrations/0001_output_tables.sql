-- modelwatch's output tables. Portable SQL (DuckDB and PostgreSQL); timestamps are naive UTC.
-- Every table is keyed on what a run owns, so reruns replace rows instead of adding them.

-- One row per processed hour: the run summary, recomputed from the other tables.
CREATE TABLE IF NOT EXISTS mw_runs (
    hour TIMESTAMP NOT NULL PRIMARY KEY,
    models_expected INTEGER NOT NULL,
    models_scored INTEGER NOT NULL,
    models_quarantined INTEGER NOT NULL,
    models_no_data INTEGER NOT NULL,
    models_insufficient_history INTEGER NOT NULL,
    models_anomalous INTEGER NOT NULL,
    alerts_opened INTEGER NOT NULL,
    alerts_resolved INTEGER NOT NULL,
    alerts_firing INTEGER NOT NULL,
    remediation_requests INTEGER NOT NULL,
    scaling_requests INTEGER NOT NULL,
    config_digest VARCHAR NOT NULL
);

-- The validation gate's verdict per model and hour ('__fleet__' holds hour-wide findings).
CREATE TABLE IF NOT EXISTS mw_validation (
    hour TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    n_rows INTEGER NOT NULL,
    completeness DOUBLE PRECISION,
    staleness_minutes DOUBLE PRECISION,
    failed_checks VARCHAR NOT NULL,
    PRIMARY KEY (hour, model_id)
);

-- The detector's verdict per model and hour, with its explanation (JSON).
CREATE TABLE IF NOT EXISTS mw_scores (
    hour TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    score DOUBLE PRECISION,
    threshold DOUBLE PRECISION,
    is_anomaly BOOLEAN NOT NULL,
    n_rows INTEGER NOT NULL,
    n_train_rows INTEGER NOT NULL,
    top_metrics VARCHAR NOT NULL,
    explanation VARCHAR NOT NULL,
    PRIMARY KEY (hour, model_id)
);

-- Alert episodes: one row per (model, kind) from the hour it opened until it resolved.
CREATE TABLE IF NOT EXISTS mw_alerts (
    alert_id VARCHAR NOT NULL PRIMARY KEY,
    model_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    opened_hour TIMESTAMP NOT NULL,
    last_signal_hour TIMESTAMP NOT NULL,
    resolved_hour TIMESTAMP,
    peak_score DOUBLE PRECISION,
    summary VARCHAR NOT NULL,
    explanation VARCHAR NOT NULL
);

-- What was (or would have been) sent for each alert event, per receiver: the dedup ledger.
CREATE TABLE IF NOT EXISTS mw_notifications (
    notification_id VARCHAR NOT NULL PRIMARY KEY,
    alert_id VARCHAR NOT NULL,
    model_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,
    hour TIMESTAMP NOT NULL,
    receiver VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    detail VARCHAR NOT NULL
);

-- The remediation outbox: one row per (model, hour, action), with its status.
CREATE TABLE IF NOT EXISTS mw_remediation_requests (
    request_id VARCHAR NOT NULL PRIMARY KEY,
    model_id VARCHAR NOT NULL,
    hour TIMESTAMP NOT NULL,
    action VARCHAR NOT NULL,
    from_replicas INTEGER,
    to_replicas INTEGER,
    mode VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    status_reason VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    evidence VARCHAR NOT NULL
);
