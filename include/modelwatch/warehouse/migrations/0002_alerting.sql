-- Alerting: delivery attempts, silences, and the ledger's extra facts. Portable SQL.

-- The ledger row says what was finally sent; these say when each attempt was made and to whom.
ALTER TABLE mw_notifications ADD COLUMN IF NOT EXISTS severity VARCHAR;
ALTER TABLE mw_notifications ADD COLUMN IF NOT EXISTS last_attempt_at TIMESTAMP;

-- One row per delivery attempt (inside a run's retries and across runs), never rewritten.
CREATE TABLE IF NOT EXISTS mw_notification_attempts (
    attempt_id VARCHAR NOT NULL PRIMARY KEY,
    notification_id VARCHAR NOT NULL,
    alert_id VARCHAR NOT NULL,
    receiver VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    ok BOOLEAN NOT NULL,
    detail VARCHAR NOT NULL
);

-- Silences: matching alerts are recorded but not sent between starts_at and ends_at.
CREATE TABLE IF NOT EXISTS mw_silences (
    silence_id VARCHAR NOT NULL PRIMARY KEY,
    matchers VARCHAR NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_by VARCHAR NOT NULL,
    comment VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expired_by VARCHAR
);
