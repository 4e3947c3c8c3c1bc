"""An Airflow SQL hook for DuckDB files: DuckDB has no maintained Airflow provider.

A `DbApiHook` like every SQL provider's, so a DuckDB file can be a metrics source (and any
Airflow task's database) through the same common-sql interface: `get_conn` is a DuckDB
connection, `get_sqlalchemy_engine` one through `duckdb_engine` (DuckDB's SQLAlchemy dialect).
Read-only by default: modelwatch never writes to a source.

The connection is the warehouse's form: `duckdb:////abs/path.duckdb`, or the extra
`{"path": "..."}`. Its class path, `modelwatch.ingest.duckdb_hook.DuckDBHook`, is what a
provider entry point registers as Airflow's `duckdb` connection type; `ingest.sql_engine`
builds it for `duckdb` connections whether or not it is registered.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.sql.hooks.sql import DbApiHook


class DuckDBHook(DbApiHook):
    """Reads (and, with `read_only=False`, writes) a DuckDB database file."""

    conn_name_attr = "duckdb_conn_id"
    default_conn_name = "duckdb_default"
    conn_type = "duckdb"
    hook_name = "DuckDB"
    supports_autocommit = False

    def __init__(self, *args: Any, path: str | None = None, read_only: bool = True, **kw: Any):
        """`path`: the database file, when the caller resolved it already (a relative path in
        a connection is relative to the settings file: `warehouse.connect.resolve_path`)."""
        super().__init__(*args, **kw)
        self._placeholder = "?"
        self._path = path
        self.read_only = read_only

    @property
    def path(self) -> str:
        if self._path is None:
            conn = self.get_connection(self.get_conn_id())
            extra = conn.extra_dejson or {}
            found = extra.get("path") or extra.get("database") or conn.schema or conn.host
            if not found:
                raise ValueError(
                    f"DuckDB connection {self.get_conn_id()!r} names no database file: use "
                    'duckdb:////abs/path.duckdb or the extra {"path": "..."}'
                )
            self._path = str(found)
        return self._path

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
