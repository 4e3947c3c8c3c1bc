"""A DuckDB `DbApiHook`, so that the `duckdb` connection type has a hook class.

DuckDB has no maintained Airflow provider. The warehouse itself is opened by
`modelwatch.warehouse` (Arrow in and out); this class is the `duckdb` type of Airflow's
connection form (provider.py) and its "Test" button, the hook of SQL operators pointed at a
DuckDB connection, and how a DuckDB file apart from the warehouse is read as a metrics source
(`ingest.sql_engine`, through Airflow's hook registry): `get_sqlalchemy_engine` goes through
DuckDB's SQLAlchemy dialect (`duckdb_engine`), on which the source's statements run. The file
comes from the connection the way the warehouse reads it (`WarehouseSpec.duckdb_path`: the
extra `path`, else the schema or the host; relative paths against the settings file's folder).
`read_only` opens it for reading only (a source is never written).
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
    supports_autocommit = False

    def __init__(self, *args: Any, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._placeholder = "?"
        self.read_only = read_only

    @property
    def path(self) -> str:
        from modelwatch.warehouse import warehouse_spec

        return warehouse_spec(self.get_conn_id()).duckdb_path

    def get_conn(self) -> Any:
        import duckdb

        return duckdb.connect(self.path, read_only=self.read_only)

    def get_uri(self) -> str:
        return f"duckdb:///{self.path}"

    def get_sqlalchemy_engine(self, engine_kwargs: dict[str, Any] | None = None) -> Any:
        from sqlalchemy import create_engine

        kwargs = dict(engine_kwargs or {})
        kwargs.setdefault("connect_args", {"read_only": self.read_only})
        return create_engine(self.get_uri(), **kwargs)
