"""DuckDB, the embedded default warehouse.

DuckDB lets one process open a database file for writing at a time. Airflow runs tasks as
separate processes, so concurrent tasks would collide on the file lock. Two defences: the DAG
runs every warehouse task in a one-slot Airflow pool, and opening the file waits, with backoff
and a deadline, while another process holds the lock (for runs outside the pool, e.g. the CLI).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from modelwatch.warehouse.base import (
    Warehouse,
    WarehouseError,
    expand_params,
    quote_ident,
    to_driver,
)

log = logging.getLogger(__name__)

#: DuckDB's memory limit during a bulk load (`DuckDBWarehouse.bulk_load`).
BULK_LOAD_MEMORY = "2GB"
#: DuckDB's memory limit otherwise, unless the connection's extra sets `memory_limit`. DuckDB's
#: own default is 80 % of the machine, and its buffer pool keeps what a query read up to it: a
#: task reading a week of 10,000 models' minutes in parts held 8 GB, mostly cached blocks it
#: never read again. Queries past the limit spill to a temporary file beside the database.
DEFAULT_MEMORY = "1GB"
#: Rows per frame of a streamed result (`batches`): about 100 MB of a metrics table's rows.
BATCH_ROWS = 1_000_000
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def memory_setting(value: Any) -> str:
    """A DuckDB memory size from a connection's extra (`4GB`, `512MiB`), or a WarehouseError:
    the text goes into a SET statement, so nothing else is let through."""
    text = str(value).strip()
    if not _MEMORY.fullmatch(text):
        raise WarehouseError(
            f"DuckDB memory_limit {text[:40]!r} is not a size such as 1GB or 512MiB"
        )
    return text


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def connect_with_retry(
    path: str, read_only: bool = False, timeout_s: float = 300.0
) -> duckdb.DuckDBPyConnection:
    """Open the database file, waiting while another process holds its lock."""
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except Exception as exc:
            if not _is_lock_error(exc) or time.monotonic() >= deadline:
                if _is_lock_error(exc):
                    raise WarehouseError(
                        f"DuckDB file {path} stayed locked by another process for "
                        f"{timeout_s:.0f} s: {exc}"
                    ) from exc
                raise
            log.info("DuckDB file %s is locked by another process; retrying", path)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


#: What information_schema.tables lists (tables and views, temporary ones too, in every schema),
#: from DuckDB's own catalog functions.
_CATALOG_TABLES = (
    "(SELECT schema_name, table_name FROM duckdb_tables()"
    " UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal)"
)


class DuckDBWarehouse(Warehouse):
    dialect = "duckdb"

    def __init__(
        self,
        path: str,
        read_only: bool = False,
        lock_timeout_s: float = 300.0,
        memory_limit: str | None = None,
    ):
        self.memory_limit = memory_setting(memory_limit or DEFAULT_MEMORY)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._con = connect_with_retry(path, read_only=read_only, timeout_s=lock_timeout_s)
        self._con.execute("SET TimeZone = 'UTC'")
        self._con.execute(f"SET memory_limit = '{self.memory_limit}'")
        self._depth = 0

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        sql, bound = expand_params(sql, params, self.dialect)
        try:
            return self._con.execute(to_driver(sql, "dollar"), bound).df()
        except duckdb.Error as exc:
            raise WarehouseError(f"query failed: {exc}\nSQL: {sql}") from exc

    def batches(self, sql: str, params: Mapping[str, Any] | None = None) -> Iterator[pd.DataFrame]:
        """A relation's Arrow reader (the one DuckDB streams), its batches gathered into frames
        of about `BATCH_ROWS` rows."""
        sql, bound = expand_params(sql, params, self.dialect)
        try:
            relation = self._con.sql(to_driver(sql, "dollar"), params=bound or None)
            with relation.to_arrow_reader(batch_size=BATCH_ROWS) as reader:
                gathered: list[Any] = []
                rows = 0
                for batch in reader:
                    gathered.append(batch)
                    rows += batch.num_rows
                    if rows >= BATCH_ROWS:
                        yield pa.Table.from_batches(gathered).to_pandas()
                        gathered, rows = [], 0
                yield pa.Table.from_batches(gathered, schema=reader.schema).to_pandas()
        except duckdb.Error as exc:
            raise WarehouseError(f"query failed: {exc}\nSQL: {sql}") from exc

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        sql, bound = expand_params(sql, params, self.dialect)
        try:
            self._con.execute(to_driver(sql, "dollar"), bound)
        except duckdb.Error as exc:
            raise WarehouseError(f"statement failed: {exc}\nSQL: {sql}") from exc

    def _insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        cols = ", ".join(quote_ident(c) for c in frame.columns)
        self._con.register("_mw_insert", frame)
        try:
            self._con.execute(
                f"INSERT INTO {quote_ident(table)} ({cols}) SELECT {cols} FROM _mw_insert"
            )
        except duckdb.Error as exc:
            raise WarehouseError(f"insert into {table} failed: {exc}") from exc
        finally:
            # In an aborted transaction DuckDB refuses even this; the next register replaces it.
            with contextlib.suppress(duckdb.Error):
                self._con.unregister("_mw_insert")

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """DuckDB keeps written blocks and a new index in its buffer pool up to its memory
        limit (80% of the machine by default): bound it while loading, so a large load spills
        to the file rather than holding the machine's memory (seeding 3,000 models: 2.5 GB
        peak at 2 GB, 6.4 GB without)."""
        self.execute(f"SET memory_limit = '{BULK_LOAD_MEMORY}'")
        try:
            yield
        finally:
            self.execute(f"SET memory_limit = '{self.memory_limit}'")

    def create_from_frame(self, table: str, frame: pd.DataFrame) -> None:
        """A new table `table` holding `frame`'s rows, with the column types DuckDB infers
        from the frame (a scratch warehouse's copy of another's inputs)."""
        self._con.register("_mw_create", frame)
        try:
            self._con.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM _mw_create")
        except duckdb.Error as exc:
            raise WarehouseError(f"create table {table} failed: {exc}") from exc
        finally:
            with contextlib.suppress(duckdb.Error):
                self._con.unregister("_mw_create")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # nested: the outer transaction decides
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")
        finally:
            self._depth = 0

    def table_exists(self, table: str) -> bool:
        """As the base class asks it, of DuckDB's catalog functions: its information_schema.tables
        filtered by name takes about 15 ms against 2 ms, and tasks ask a few times an hour."""
        found = self.query(
            f"SELECT COUNT(*) AS n FROM {_CATALOG_TABLES} WHERE table_name = :t", {"t": table}
        )
        return int(found["n"].iloc[0]) > 0

    def columns_of(self, table: str) -> dict[str, str]:
        """As the base class answers, of `duckdb_columns()` (information_schema.columns is a
        view over it and every other catalog entry)."""
        got = self.query(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = :t "
            "ORDER BY database_name, schema_name, column_index",
            {"t": table.split(".")[-1]},
        )
        names, types = got["column_name"].astype(str), got["data_type"].astype(str)
        return dict(zip(names, types.str.lower(), strict=True))

    def _search_path(self, schemas: list[str]) -> None:
        for name in schemas:
            quote_ident(name)  # validated: the list is a string literal here
        self._con.execute(f"SET search_path = '{','.join(schemas)}'")

    def close(self) -> None:
        self._con.close()
