-- Prediction drift: the hourly tests and the cached reference sketches. Portable SQL.

-- One row per model, hour, feature and test ('prediction' is the model's output; 'label' rows
-- hold the labelled hours' error or accuracy). Written with wh.replace keyed on (hour, models).
CREATE TABLE IF NOT EXISTS mw_drift (
    hour TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    feature VARCHAR NOT NULL,
    test VARCHAR NOT NULL,
    statistic DOUBLE PRECISION,
    p_value DOUBLE PRECISION,
    threshold DOUBLE PRECISION,
    drifted BOOLEAN NOT NULL,
    reference VARCHAR NOT NULL,
    baseline DOUBLE PRECISION,
    n_current INTEGER NOT NULL,
    n_reference INTEGER NOT NULL,
    PRIMARY KEY (hour, model_id, feature, test)
);

-- The reference as sketches (quantiles or category counts, JSON) per model, feature and hour
-- of day, built once a day from the reference window, so an hour never rereads a week.
CREATE TABLE IF NOT EXISTS mw_drift_reference (
    day TIMESTAMP NOT NULL,
    model_id VARCHAR NOT NULL,
    feature VARCHAR NOT NULL,
    hour_of_day INTEGER NOT NULL,
    reference VARCHAR NOT NULL,
    n INTEGER NOT NULL,
    sketch VARCHAR NOT NULL,
    PRIMARY KEY (day, model_id, feature, hour_of_day)
);
