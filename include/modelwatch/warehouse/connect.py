"""From an Airflow connection (or its URI) to an open warehouse.

Inside Airflow the adapter reads the connection `modelwatch_warehouse` and hands its fields
here; outside Airflow (CLI, tests) the same connection comes from `AIRFLOW_CONN_<ID>`, in
Airflow's URI or JSON form. Credentials stay in the connection; nothing here logs them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from modelwatch.warehouse.base import Warehouse, WarehouseError

DUCKDB_TYPES = {"duckdb"}
POSTGRES_TYPES = {"postgres", "postgresql"}


@dataclass(frozen=True)
class WarehouseSpec:
    """The fields of a connection that choose and reach a warehouse."""

    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def duckdb_path(self) -> str:
        path = self.extra.get("path") or self.extra.get("database") or self.schema or self.host
        if not path:
            raise WarehouseError(
                "DuckDB connection names no database file: use duckdb:////abs/path.duckdb "
                'or the extra {"path": "..."}'
            )
        return str(path)

    def postgres_uri(self) -> str:
        """A libpq URI (credentials percent-encoded; extras such as sslmode as parameters)."""
        auth = ""
        if self.login:
            auth = quote(self.login, safe="")
            if self.password:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        host = self.host or "localhost"
        port = f":{self.port}" if self.port else ""
        query = urlencode({k: v for k, v in self.extra.items() if isinstance(v, (str, int))})
        return f"postgresql://{auth}{host}{port}/{quote(self.schema or 'postgres', safe='')}" + (
            f"?{query}" if query else ""
        )

    def describe(self) -> str:
        """A log-safe description (no credentials)."""
        if self.conn_type in DUCKDB_TYPES:
            return f"duckdb:{self.duckdb_path}"
        return f"{self.conn_type}://{self.host}:{self.port}/{self.schema}"


def spec_from_uri(uri: str) -> WarehouseSpec:
    """Parse a connection in Airflow's URI form (or its JSON form)."""
    uri = uri.strip()
    if uri.startswith("{"):
        data = json.loads(uri)
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra)
        return WarehouseSpec(
            conn_type=str(data.get("conn_type", "")).lower(),
            host=data.get("host"),
            port=data.get("port"),
            login=data.get("login"),
            password=data.get("password"),
            schema=data.get("schema"),
            extra=extra,
        )
    parts = urlsplit(uri)
    conn_type = parts.scheme.replace("-", "_").lower()
    if conn_type == "postgresql":
        conn_type = "postgres"
    path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
    return WarehouseSpec(
        conn_type=conn_type,
        host=unquote(parts.hostname) if parts.hostname else None,
        port=parts.port,
        login=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        schema=path or None,
        extra=dict(parse_qsl(parts.query)),
    )


def spec_from_env(conn_id: str) -> WarehouseSpec:
    """The connection `conn_id` from the environment, as Airflow would read it."""
    var = f"AIRFLOW_CONN_{conn_id.upper()}"
    uri = os.environ.get(var)
    if not uri:
        raise WarehouseError(
            f"no warehouse connection: set {var} (e.g. duckdb:////abs/path/warehouse.duckdb) "
            f"or define the Airflow connection {conn_id!r}"
        )
    return spec_from_uri(uri)


def open_warehouse(spec: WarehouseSpec, *, migrate: bool = False) -> Warehouse:
    """Open the warehouse the connection describes; apply pending DDL when `migrate`."""
    if spec.conn_type in DUCKDB_TYPES:
        from modelwatch.warehouse.duckdb_backend import DuckDBWarehouse

        wh: Warehouse = DuckDBWarehouse(spec.duckdb_path)
    elif spec.conn_type in POSTGRES_TYPES:
        from modelwatch.warehouse.postgres_backend import PostgresWarehouse

        wh = PostgresWarehouse(spec.postgres_uri())
    else:
        raise WarehouseError(
            f"unsupported warehouse connection type {spec.conn_type!r}; use duckdb or postgres"
        )
    if migrate:
        try:
            wh.migrate()
        except Exception:
            wh.close()
            raise
    return wh
