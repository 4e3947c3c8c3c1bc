-- Troubleshooting hints: per alert and hour computed, ranked, with their evidence (JSON).
-- Rebuilt by the alert step for the hour it runs, like the alerts themselves.
CREATE TABLE IF NOT EXISTS mw_hints (
    alert_id VARCHAR NOT NULL,
    hour TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    rank INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    summary VARCHAR NOT NULL,
    evidence VARCHAR NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (alert_id, hour, rank)
);
