-- Detection that lives with a real fleet: baselines that move and models that retire. Portable
-- SQL; timestamps naive UTC.

-- A model's baseline moved: from `decided_hour` on, its detectors learn from rows at or after
-- `since` (the change's onset). `source` is 'auto' (the level held for the persistence) or
-- 'operator' (accepted as normal, with who and why). One row per model and decided hour.
CREATE TABLE IF NOT EXISTS mw_baselines (
    model_id VARCHAR NOT NULL,
    decided_hour TIMESTAMP NOT NULL,
    since TIMESTAMP NOT NULL,
    source VARCHAR NOT NULL,
    actor VARCHAR,
    reason VARCHAR,
    recorded_at TIMESTAMP,
    PRIMARY KEY (model_id, decided_hour)
);

-- A model retired at `hour`: no rows since `last_seen` for the configured hours in which the
-- rest of the fleet reported. Rows arriving again bring it back (a new row, a new last_seen).
CREATE TABLE IF NOT EXISTS mw_retirements (
    model_id VARCHAR NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    hour TIMESTAMP NOT NULL,
    PRIMARY KEY (model_id, last_seen)
);
