-- Why an enrichment of the hour failed (NULL: it ran): the log signatures, the drift findings
-- or the hints were lost for the hour, never its alerts. Portable SQL.
ALTER TABLE mw_runs ADD COLUMN IF NOT EXISTS logs_failure VARCHAR;
ALTER TABLE mw_runs ADD COLUMN IF NOT EXISTS drift_failure VARCHAR;
ALTER TABLE mw_runs ADD COLUMN IF NOT EXISTS hints_failure VARCHAR;
