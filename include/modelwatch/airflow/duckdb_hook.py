"""A minimal DuckDB `DbApiHook`, so that the `duckdb` connection type has a hook class.

Minimal on purpose: the warehouse itself is opened by `modelwatch.warehouse` (Arrow in and
out); this class exists for Airflow's connection form (provider.py) and its "Test" button,
and for SQL operators pointed at a DuckDB connection. The file comes from the connection the
way the warehouse reads it (`WarehouseSpec.duckdb_path`: the extra `path`, else the schema or
the host; relative paths against the settings file's folder).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.sql.hooks.sql import DbApiHook


class DuckDBHook(DbApiHook):
    """Connections of type `duckdb`: one DuckDB database file."""

    conn_name_attr = "duckdb_conn_id"
    default_conn_name = "modelwatch_warehouse"
    conn_type = "duckdb"
    hook_name = "DuckDB"

    def get_conn(self) -> Any:
        import duckdb

        from modelwatch.warehouse import warehouse_spec

        return duckdb.connect(warehouse_spec(self.get_conn_id()).duckdb_path)
