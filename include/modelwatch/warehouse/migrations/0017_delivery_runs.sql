-- Each alert run's outcome per receiver it had notifications for: `ok` when the receiver took
-- them, else the reason its last attempt failed. A receiver failing in two consecutive runs
-- raises a `delivery_failure` alert (model id `__modelwatch__`) to the other receivers.
-- Portable SQL; timestamps naive UTC.
CREATE TABLE IF NOT EXISTS mw_delivery_runs (
    hour TIMESTAMP NOT NULL,
    receiver VARCHAR NOT NULL,
    ok BOOLEAN NOT NULL,
    detail VARCHAR,
    PRIMARY KEY (hour, receiver)
);
