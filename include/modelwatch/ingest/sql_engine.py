"""A SQL source's connection, read through its Airflow hook: any SQL provider installed.

Every SQL provider's hook (PostgreSQL, SQLite, MySQL, Snowflake, BigQuery, Trino, Redshift
through postgres, ...) is a common-sql `DbApiHook` that hands out a SQLAlchemy engine for its
connection; modelwatch builds its statements with SQLAlchemy Core, so it needs no code of its
own per engine. DuckDB, which has no maintained provider, gets the package's own hook
(`modelwatch.airflow.duckdb_hook`, registered as the `duckdb` connection type).
Airflow is imported here only, when such a source is opened.
"""

from __future__ import annotations

from modelwatch.ingest.source import SourceError
from modelwatch.ingest.sql_readers import EngineReader
from modelwatch.warehouse.connect import DUCKDB_TYPES
from modelwatch.warehouse.source_spec import SourceSpec


def sql_hook(spec: SourceSpec) -> object:
    """The `DbApiHook` of the source's connection, from Airflow's hook registry (DuckDB's
    too: the package registers its hook for the `duckdb` type), opened for reading only
    where the hook can be told so; an error naming `source.conn_id` when the connection is
    not SQL or no installed provider reads its type."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    conn_type = spec.connection.conn_type
    params = {"read_only": True} if conn_type in DUCKDB_TYPES else None
    try:
        hook = BaseHook.get_hook(str(spec.conn_id), hook_params=params)
    except Exception as exc:  # an unknown hook type: no installed provider reads it
        raise SourceError(
            f"source.conn_id {spec.conn_id!r} is a {conn_type!r} connection and no installed "
            f"Airflow provider reads it ({type(exc).__name__}: {exc}); install the provider "
            "of that database"
        ) from exc
    if not isinstance(hook, DbApiHook):
        raise SourceError(
            f"source.conn_id {spec.conn_id!r} is a {conn_type!r} connection, not a SQL "
            "database: kind sql reads through a SQL provider's hook"
        )
    return hook


def hook_reader(spec: SourceSpec) -> EngineReader:
    """A reader of the source through its hook's SQLAlchemy engine."""
    hook = sql_hook(spec)
    return EngineReader(hook.get_sqlalchemy_engine(), spec.describe())  # type: ignore[attr-defined]
