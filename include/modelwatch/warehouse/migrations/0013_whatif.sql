-- The incident trail. Portable SQL (DuckDB and PostgreSQL).

-- The alert episode a remediation request answers (the model's anomaly alert active at the
-- request's hour), so an incident's page lists what was done about it. NULL: none (yet).
ALTER TABLE mw_remediation_requests ADD COLUMN IF NOT EXISTS alert_id VARCHAR;
