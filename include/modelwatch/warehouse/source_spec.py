"""Where a run reads its metrics: the `source` section's kind and connection, resolved once.

The source is separate from the warehouse: outputs go to the warehouse connection, inputs are
read from the source's, and nothing is ever written to it. A `sql` source without its own
connection (the default) is the warehouse itself, read through the warehouse's own
backend; any other connection is read through its Airflow hook (`ingest.sql_engine`). Resolving
needs only the connection's fields, never a network round trip; the open happens where the
rows are read (`ingest.connect.open_source`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelwatch.config import Settings
from modelwatch.connections import ConnectionMissing, env_var, get_connection
from modelwatch.warehouse.connect import WarehouseSpec, resolve_path, spec_from_connection


class SourceConnectionError(LookupError):
    """The source's connection is defined nowhere: the message names the setting."""


@dataclass(frozen=True)
class SourceSpec:
    """A run's metrics source: its kind, its own connection id (None: the warehouse's), and
    that connection's fields (credentials kept out of `repr`)."""

    kind: str
    conn_id: str | None
    connection: WarehouseSpec

    @property
    def native(self) -> bool:
        """Read through the warehouse's own backend: the source is the warehouse."""
        return self.conn_id is None

    def describe(self) -> str:
        """A log-safe description (no credentials); it also keys the source's detector cache."""
        if self.native:
            return self.connection.describe()
        c = self.connection
        where = "".join(
            part
            for part in (c.host, f":{c.port}" if c.port else "", f"/{c.schema}" if c.schema else "")
            if part
        )
        return f"{self.conn_id} ({c.conn_type}{' ' + where if where else ''})"


def source_spec(
    settings: Settings, warehouse: WarehouseSpec, base_dir: Path | None = None
) -> SourceSpec:
    """The metrics source of `settings`, reading production's `warehouse` when the `sql`
    source names no connection of its own (or names the warehouse's)."""
    src = settings.source
    conn_id = src.connection_id
    if conn_id is None or (src.kind == "sql" and conn_id == settings.warehouse_conn_id):
        return SourceSpec("sql", None, warehouse.in_schema(None))
    try:
        conn = get_connection(conn_id)
    except ConnectionMissing as exc:
        example = "http://127.0.0.1:9090" if src.kind == "prometheus" else "postgresql://host/db"
        raise SourceConnectionError(
            f"source.conn_id {conn_id!r}: no such connection; set {env_var(conn_id)} "
            f"(e.g. {example}) or define the Airflow connection {conn_id!r}"
        ) from exc
    return SourceSpec(src.kind, conn_id, resolve_path(spec_from_connection(conn), base_dir))
