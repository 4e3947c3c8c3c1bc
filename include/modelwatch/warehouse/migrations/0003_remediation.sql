-- Remediation with guardrails: the outbox's lifecycle columns and its audit trail.
-- Portable SQL (DuckDB and PostgreSQL); timestamps are naive UTC.

-- The outbox keeps one row per (model, hour, action); these say how it got where it is.
ALTER TABLE mw_remediation_requests ADD COLUMN score DOUBLE PRECISION;
ALTER TABLE mw_remediation_requests ADD COLUMN attempts INTEGER DEFAULT 0;
-- 'policy' (auto-approved), an operator's name, or 'timeout'.
ALTER TABLE mw_remediation_requests ADD COLUMN decided_by VARCHAR;
-- The target that was sent the request (log, kubernetes, webhook).
ALTER TABLE mw_remediation_requests ADD COLUMN target VARCHAR;

-- Every change of a request's status (or reason, attempts, decision): the audit trail.
-- Keyed on (request_id, seq): a rerun that reaches the same state adds no row.
CREATE TABLE IF NOT EXISTS mw_remediation_events (
    event_id VARCHAR NOT NULL PRIMARY KEY,
    request_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    model_id VARCHAR NOT NULL,
    hour TIMESTAMP NOT NULL,
    action VARCHAR NOT NULL,
    from_status VARCHAR,
    to_status VARCHAR NOT NULL,
    status_reason VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    actor VARCHAR,
    run_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
