"""modelwatch's provider info: what Airflow learns about the package without importing it.

Why: Airflow's connection form offers the connection types that installed providers declare,
and finds them through the `apache_airflow_provider` entry point (pyproject.toml), whose
function returns a dict in Airflow's provider-info schema (`airflow/provider_info.schema.json`).
modelwatch declares one type, `duckdb`, the embedded warehouse, so a deployment can pick DuckDB
in the UI as it picks Postgres. The form's labels, hidden fields and placeholders come from
here too: Airflow 3.3 reads them from the provider info, without importing the hook.
`package-name` must equal the distribution's name, or Airflow refuses the provider.
"""

from __future__ import annotations

from typing import Any

#: The hook behind the `duckdb` connection type (a `DbApiHook` of the common SQL provider).
DUCKDB_HOOK = "modelwatch.airflow.duckdb_hook.DuckDBHook"


def get_provider_info() -> dict[str, Any]:
    """The provider info Airflow's ProvidersManager reads from the entry point."""
    return {
        "package-name": "modelwatch",
        "name": "modelwatch",
        "description": "Hourly health checks of a fleet of deployed ML models: the DuckDB "
        "warehouse connection type and the Model health view.",
        "connection-types": [
            {
                "connection-type": "duckdb",
                "hook-class-name": DUCKDB_HOOK,
                "hook-name": "DuckDB",
                "ui-field-behaviour": {
                    # the file is all a DuckDB connection needs (connect.WarehouseSpec)
                    "hidden-fields": ["login", "password", "port", "schema"],
                    "relabeling": {"host": "Database file"},
                    "placeholders": {
                        "host": "/opt/airflow/data/warehouse.duckdb",
                        "extra": '{"path": "/opt/airflow/data/warehouse.duckdb"}',
                    },
                },
            }
        ],
    }
