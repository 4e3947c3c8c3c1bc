-- docker-compose.yaml: the warehouse's own database on the PostgreSQL that also holds Airflow's
-- metadata database (run once, when the data volume is first created). modelwatch creates its
-- mw_* tables there on the first run; the input table model_metrics is yours (docs/data.md).
CREATE DATABASE modelwatch OWNER airflow;
