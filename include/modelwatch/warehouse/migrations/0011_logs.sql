-- Log mining: a day's frozen templates, its baseline profile, and per model-hour counts.
-- Portable SQL (DuckDB and PostgreSQL); timestamps are naive UTC.

-- The templates a day's lines are matched against, learned once from the days before it.
CREATE TABLE IF NOT EXISTS mw_log_templates (
    day TIMESTAMP NOT NULL,
    template_id VARCHAR NOT NULL,
    template VARCHAR NOT NULL,
    n_train BIGINT NOT NULL,
    PRIMARY KEY (day, template_id)
);

-- What is usual for a day: per model, signature, level and hour of day, the lines of the
-- baseline window (and the most in one hour), and when the signature was first seen.
CREATE TABLE IF NOT EXISTS mw_log_baseline (
    day TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    template_id VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    hour_of_day INTEGER NOT NULL,
    total BIGINT NOT NULL,
    peak BIGINT NOT NULL,
    first_seen TIMESTAMP NOT NULL
);

-- An hour's lines per model, signature and level, with two example lines (secrets masked).
CREATE TABLE IF NOT EXISTS mw_log_counts (
    hour TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    template_id VARCHAR NOT NULL,
    level VARCHAR NOT NULL,
    template VARCHAR NOT NULL,
    n BIGINT NOT NULL,
    first_ts TIMESTAMP NOT NULL,
    examples VARCHAR NOT NULL
);

-- One row per mined hour: a rerun finds it and reads the stored counts instead of mining.
CREATE TABLE IF NOT EXISTS mw_log_hours (
    hour TIMESTAMP NOT NULL PRIMARY KEY,
    lines BIGINT NOT NULL,
    matched BIGINT NOT NULL,
    unmatched BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    templates_day TIMESTAMP NOT NULL,
    run_id VARCHAR NOT NULL
);

-- Log rows that were not mined, counted per hour, model and reason (null message, huge, ...).
CREATE TABLE IF NOT EXISTS mw_log_rejects (
    hour TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    n BIGINT NOT NULL
);
