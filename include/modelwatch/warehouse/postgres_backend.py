"""PostgreSQL, the production warehouse, through ADBC (Arrow Database Connectivity).

ADBC moves result sets as Arrow columns and bulk-loads with COPY, so neither extraction nor
writes go through Python row by row. Writes land in a temporary staging table and are upserted
with `INSERT ... ON CONFLICT (primary key) DO UPDATE`, so two runs racing on the same hour
converge instead of failing on a duplicate key. Migrations hold an advisory lock, so parallel
tasks never apply the same DDL twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

from modelwatch.warehouse.base import Warehouse, WarehouseError, expand_params, quote_ident

_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_MIGRATION_LOCK = 0x6D77  # "mw": one key for every modelwatch migration

_ARROW_TYPES = {
    "timestamp without time zone": pa.timestamp("us"),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "smallint": pa.int16(),
    "boolean": pa.bool_(),
    "character varying": pa.string(),
    "text": pa.string(),
}


def to_positional(sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """`:name` placeholders to PostgreSQL's `$1, $2, ...` (a repeated name reuses its number)."""
    order: dict[str, int] = {}

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in order:
            order[name] = len(order) + 1
        return f"${order[name]}"

    out = _PLACEHOLDER.sub(repl, sql)
    return out, [params[name] for name in order]


def with_literals(sql: str, params: Mapping[str, Any]) -> str | None:
    """`sql` with each `:name` placeholder replaced by its value as a typed literal, when every
    value is a time, a date, a bool or a finite number (nothing that could carry SQL text);
    None otherwise. Zone-aware times are written in UTC."""
    literals: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                utc = value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
                literals[name] = f"TIMESTAMP WITH TIME ZONE '{utc}+00:00'"
            else:
                literals[name] = f"TIMESTAMP '{value.isoformat(sep=' ')}'"
        elif isinstance(value, date):
            literals[name] = f"DATE '{value.isoformat()}'"
        elif isinstance(value, bool):
            literals[name] = "TRUE" if value else "FALSE"
        elif isinstance(value, int | float) and math.isfinite(value):
            literals[name] = repr(value) if isinstance(value, int) else repr(float(value))
        else:
            return None
    return _PLACEHOLDER.sub(lambda m: literals[m.group(1)], sql)


def ensure_database(uri: str) -> bool:
    """Create the database the URI names if it does not exist (for the demo); True if created.

    Connects to the server's `postgres` database with the same credentials to do so.
    """
    import adbc_driver_postgresql.dbapi as pg

    parts = urlsplit(uri)
    name = unquote(parts.path.lstrip("/"))
    if not name or name == "postgres":
        return False
    admin = urlunsplit(parts._replace(path="/postgres"))
    with pg.connect(admin, autocommit=True) as con, con.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = $1", [name])
        if cur.fetchall():
            return False
        cur.execute(f"CREATE DATABASE {quote_ident(name)}")
    return True


class PostgresWarehouse(Warehouse):
    dialect = "postgres"

    def __init__(self, uri: str) -> None:
        import adbc_driver_postgresql.dbapi as pg

        try:
            self._con = pg.connect(uri)
        except Exception as exc:  # the URI holds a password: never echo it
            raise WarehouseError(f"cannot connect to PostgreSQL: {type(exc).__name__}") from None
        self._depth = 0
        self._columns: dict[str, list[tuple[str, str]]] = {}
        self._keys: dict[str, list[str]] = {}
        # Naive UTC is the warehouse's convention: a `timestamptz` source column is compared
        # with our naive parameters, and truncated by date_trunc, in the session's zone.
        self.execute("SET TIME ZONE 'UTC'")

    # -- statements --------------------------------------------------------------------------
    def _run(self, sql: str, params: Mapping[str, Any] | None) -> Any:
        sql, bound = expand_params(sql, params, self.dialect)
        text, values = to_positional(sql, bound)
        cur = self._con.cursor()
        try:
            cur.execute(text, values or None)
        except Exception as exc:
            cur.close()
            if not self._depth:
                self._con.rollback()
            raise WarehouseError(f"statement failed: {exc}\nSQL: {sql}") from exc
        return cur

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        cur = self._run(sql, params)
        try:
            frame = cur.fetch_arrow_table().to_pandas()
        finally:
            cur.close()
        if not self._depth:
            self._con.commit()  # do not hold a snapshot open between statements
        return frame

    def batches(self, sql: str, params: Mapping[str, Any] | None = None) -> Iterator[pd.DataFrame]:
        """The record batches ADBC streams from the server, one at a time. ADBC streams (a
        COPY in binary) only a statement without parameters: with them libpq holds the whole
        result first (0.9 GB for 4 M rows of four columns, three times slower). So times and
        numbers, which are ours, are written into the statement as typed literals
        (`with_literals`); a statement with any other parameter is bound and read whole."""
        expanded, bound = expand_params(sql, params, self.dialect)
        inlined = with_literals(expanded, bound)
        cur = self._run(inlined, None) if inlined is not None else self._run(sql, params)
        try:
            for batch in cur.fetch_record_batch():
                yield batch.to_pandas()
        except Exception as exc:
            if not self._depth:
                self._con.rollback()
            raise WarehouseError(f"query failed: {exc}\nSQL: {sql}") from exc
        finally:
            cur.close()
        if not self._depth:
            self._con.commit()

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params).close()
        if not self._depth:
            self._con.commit()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if not self._depth:
                self._con.rollback()
            raise
        else:
            self._depth -= 1
            if not self._depth:
                self._con.commit()

    # -- writes ------------------------------------------------------------------------------
    def _table_columns(self, table: str) -> list[tuple[str, str]]:
        if table not in self._columns:
            got = self.query(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = :t AND table_schema = current_schema() "
                "ORDER BY ordinal_position",
                {"t": table.split(".")[-1]},
            )
            self._columns[table] = list(got.itertuples(index=False, name=None))
        return self._columns[table]

    def _primary_key(self, table: str) -> list[str]:
        if table not in self._keys:
            got = self.query(
                "SELECT a.attname AS col FROM pg_index i "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary",
                {"t": table},
            )
            self._keys[table] = got["col"].tolist()
        return self._keys[table]

    def _arrow(self, table: str, frame: pd.DataFrame) -> pa.Table:
        """The frame typed as the target table's columns (so an all-null column still has a
        type, and int64 counts fit INTEGER columns)."""
        types = dict(self._table_columns(table))
        missing = [c for c in frame.columns if c not in types]
        if missing:
            raise WarehouseError(f"table {table} has no column(s) {missing}")
        schema = pa.schema([(c, _ARROW_TYPES.get(types[c], pa.string())) for c in frame.columns])
        return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)

    def _insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        data = self._arrow(table, frame)
        stage = f"_mw_stage_{table.split('.')[-1]}"
        cur = self._con.cursor()
        try:
            cur.adbc_ingest(stage, data, mode="replace", temporary=True)
        except Exception as exc:
            cur.close()
            raise WarehouseError(f"staging rows for {table} failed: {exc}") from exc
        cur.close()
        cols = ", ".join(quote_ident(c) for c in frame.columns)
        sql = f"INSERT INTO {quote_ident(table)} ({cols}) SELECT {cols} FROM {quote_ident(stage)}"
        keys = self._primary_key(table)
        if keys:
            updates = [c for c in frame.columns if c not in keys]
            target = ", ".join(quote_ident(k) for k in keys)
            if updates:
                assign = ", ".join(f"{quote_ident(c)} = EXCLUDED.{quote_ident(c)}" for c in updates)
                sql += f" ON CONFLICT ({target}) DO UPDATE SET {assign}"
            else:
                sql += f" ON CONFLICT ({target}) DO NOTHING"
        self.execute(sql)
        self.execute(f"DROP TABLE IF EXISTS {quote_ident(stage)}")

    def migrate(self) -> list[int]:
        """As the base class, serialised across processes by a transaction-scoped lock."""
        with self.transaction():
            self.execute("SELECT pg_advisory_xact_lock(:k)", {"k": _MIGRATION_LOCK})
            return super().migrate()

    def _search_path(self, schemas: list[str]) -> None:
        self.execute("SET search_path TO " + ", ".join(quote_ident(s) for s in schemas))
        self._columns.clear()
        self._keys.clear()

    def close(self) -> None:
        self._con.close()
