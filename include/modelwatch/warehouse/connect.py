"""From an Airflow connection (or its URI) to an open warehouse.

The connection (by default `modelwatch_warehouse`) is read through `modelwatch.connections`,
inside Airflow and out. Credentials stay in the connection; nothing here logs them.

A relative DuckDB path means a file beside the settings file (or in the working directory
without one), never wherever the process happens to start: it is made absolute here, and the
result logged once. Read-only callers ask for `must_exist`, so a typo in a path is an error
naming it instead of a new, empty warehouse.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from modelwatch.config import settings_dir
from modelwatch.connections import (
    ConnectionMissing,
    connection_fields,
    env_var,
    get_connection,
    parse_connection,
)
from modelwatch.warehouse.base import Warehouse, WarehouseError

#: What-if shadows live in schemas named `whatif_<name>`; a name is lower-case letters,
#: digits and `_`, a letter first (it becomes an identifier and a folder, so nothing else).
SHADOW_PREFIX = "whatif_"
SHADOW_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

DUCKDB_TYPES = {"duckdb"}
POSTGRES_TYPES = {"postgres", "postgresql"}
MEMORY = ":memory:"

log = logging.getLogger(__name__)
#: Relative DuckDB paths already resolved and logged by this process.
_resolved: set[tuple[str, str]] = set()


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
    #: A schema of the same warehouse that this connection writes (and reads its `mw_*`
    #: tables from), inputs still coming from the default schema: a what-if run's shadow.
    #: None: the default schema, production.
    write_schema: str | None = None

    def in_schema(self, name: str | None) -> WarehouseSpec:
        """The same warehouse, writing into schema `name` (None: production)."""
        return replace(self, write_schema=name)

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
        where = f"#{self.write_schema}" if self.write_schema else ""
        if self.conn_type in DUCKDB_TYPES:
            return f"duckdb:{self.duckdb_path}{where}"
        return f"{self.conn_type}://{self.host}:{self.port}/{self.schema}{where}"


def shadow_schema(name: str) -> str:
    """The schema of what-if shadow `name` (validated)."""
    if not isinstance(name, str) or not SHADOW_NAME.fullmatch(name):
        raise WarehouseError(
            f"shadow name {name!r} must be 1-40 lower-case letters, digits or _, a letter first"
        )
    return SHADOW_PREFIX + name


def spec_from_connection(conn: Any) -> WarehouseSpec:
    """The warehouse an Airflow connection describes."""
    return WarehouseSpec(**connection_fields(conn))


def resolve_path(spec: WarehouseSpec, base_dir: Path | None = None) -> WarehouseSpec:
    """The spec with a relative DuckDB path made absolute against `base_dir` (default: the
    folder of $MODELWATCH_CONFIG, else the working directory); logged once per path."""
    if spec.conn_type not in DUCKDB_TYPES:
        return spec
    path = spec.duckdb_path
    if path == MEMORY or Path(path).is_absolute():
        return spec
    base = base_dir if base_dir is not None else settings_dir()
    absolute = str((base / path).resolve())
    if (path, absolute) not in _resolved:
        _resolved.add((path, absolute))
        log.info("warehouse: relative DuckDB path %s is %s", path, absolute)
    return replace(spec, extra={**spec.extra, "path": absolute})


def spec_from_uri(uri: str, base_dir: Path | None = None) -> WarehouseSpec:
    """A warehouse from a connection in Airflow's URI (or JSON) form, e.g. `--warehouse`."""
    return resolve_path(spec_from_connection(parse_connection(uri)), base_dir)


def warehouse_spec(conn_id: str, base_dir: Path | None = None) -> WarehouseSpec:
    """The warehouse behind the Airflow connection `conn_id` (see `modelwatch.connections`)."""
    try:
        conn = get_connection(conn_id)
    except ConnectionMissing as exc:
        raise WarehouseError(
            f"no warehouse connection: set {env_var(conn_id)} (e.g. "
            f"duckdb:////abs/path/warehouse.duckdb) or define the Airflow connection {conn_id!r}"
        ) from exc
    return resolve_path(spec_from_connection(conn), base_dir)


def is_uri(source: str) -> bool:
    """A connection in URI or JSON form, rather than a connection id."""
    text = source.strip()
    return "://" in text or text.startswith("{")


def spec_for(source: str, base_dir: Path | None = None) -> WarehouseSpec:
    """`--warehouse` and the like: a connection id or a connection URI, either way."""
    return spec_from_uri(source, base_dir) if is_uri(source) else warehouse_spec(source, base_dir)


def require_existing(spec: WarehouseSpec) -> WarehouseSpec:
    """Refuse a DuckDB file that does not exist (opening would create an empty one): for
    commands that only read."""
    duckdb = spec.conn_type in DUCKDB_TYPES and spec.duckdb_path != MEMORY
    if duckdb and not Path(spec.duckdb_path).is_file():
        raise WarehouseError(f"warehouse file {spec.duckdb_path} does not exist")
    return spec


def as_source(spec: WarehouseSpec, source: str) -> str:
    """What to hand a library function that takes a connection id or URI: the resolved DuckDB
    file as a URI, anything else as given."""
    if spec.conn_type in DUCKDB_TYPES and spec.duckdb_path != MEMORY:
        return f"duckdb:///{spec.duckdb_path}"
    return source


def open_warehouse(spec: WarehouseSpec, *, migrate: bool = False) -> Warehouse:
    """Open the warehouse the connection describes; apply pending DDL when `migrate`.

    With a `write_schema`, every unqualified name resolves there first (so `mw_*` tables are
    the schema's own) and then in the default schema (the inputs); see `Warehouse.enter_schema`.
    """
    if spec.conn_type in DUCKDB_TYPES:
        from modelwatch.warehouse.duckdb_backend import DuckDBWarehouse

        wh: Warehouse = DuckDBWarehouse(
            spec.duckdb_path, memory_limit=spec.extra.get("memory_limit")
        )
    elif spec.conn_type in POSTGRES_TYPES:
        from modelwatch.warehouse.postgres_backend import PostgresWarehouse

        wh = PostgresWarehouse(spec.postgres_uri())
    else:
        raise WarehouseError(
            f"unsupported warehouse connection type {spec.conn_type!r}; use duckdb or postgres"
        )
    try:
        if spec.write_schema:
            wh.enter_schema(spec.write_schema, migrate=migrate)
        elif migrate:
            wh.migrate()
    except Exception:
        wh.close()
        raise
    return wh


@contextmanager
def held_open(spec: WarehouseSpec) -> Iterator[None]:
    """Keep an embedded (DuckDB) warehouse open across the steps of one hour in one process.

    Each step opens and closes its own connection, as an Airflow task must. In one process
    (a local run, a what-if shadow) DuckDB shares one database instance between the
    connections to a file while any is open, and closing the last one checkpoints the file:
    held open, the steps' opens are cheap and the checkpoint happens once. Other processes
    wait for the file meanwhile, so hold it for an hour, never for a whole replay: the DAG's
    tasks on the same file then wait at most one hour's processing, not the shadow's run
    (and their lock wait has a deadline). Other backends: nothing to hold."""
    if spec.conn_type not in DUCKDB_TYPES:
        yield
        return
    with open_warehouse(spec.in_schema(None)):  # the file, not a shadow's schema
        yield
