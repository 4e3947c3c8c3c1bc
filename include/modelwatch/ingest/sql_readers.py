"""Who runs a SQL source's statements: the warehouse's own backend, or a connection's engine.

The statements are SQLAlchemy Core (`sql_source.py`), so placeholders, identifier quoting and
`LIMIT` are each dialect's business, never string building of ours. Two readers run them:

- `WarehouseReader`: the source is the warehouse (DuckDB or PostgreSQL). The statement is
  compiled for PostgreSQL's grammar, which both speak, and run by the warehouse's backend
  (Arrow in, one JSON parameter for any number of ids): the fastest way to read the
  warehouse.
- `EngineReader`: any other SQL connection, through the SQLAlchemy engine of its Airflow hook
  (`sql_engine.py`): PostgreSQL, SQLite, DuckDB, Snowflake, BigQuery, Trino, MySQL, ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect

from modelwatch.warehouse import Warehouse, WarehouseError
from modelwatch.warehouse.base import expand_params, ids_param, in_models

#: Rows per frame when an engine streams a result (`EngineReader.batches`).
STREAM_ROWS = 500_000
#: PostgreSQL's grammar with `:name` placeholders: what the warehouse backends take.
_WAREHOUSE_DIALECT = PGDialect(paramstyle="named")


def table_parts(table: str) -> tuple[str | None, str]:
    """`schema.table` -> (schema, table); a plain name has no schema."""
    schema, _, name = table.rpartition(".")
    return schema or None, name


class SqlReader(ABC):
    """Runs a SQL source's statements (see the module)."""

    #: The most ids one statement filters on (None: any number).
    max_ids: int | None = None

    @abstractmethod
    def columns(self, table: str) -> dict[str, bool] | None:
        """The table's columns (name as the database spells it -> whether it holds zone-aware
        times, when the reader can tell without reading rows); None: no such table."""

    @abstractmethod
    def frame(self, stmt: sa.Select[Any]) -> pd.DataFrame:
        """The rows of a SELECT."""

    @abstractmethod
    def batches(self, stmt: sa.Select[Any]) -> Iterator[pd.DataFrame]:
        """The rows of a SELECT in frames, streamed: for results larger than memory."""

    def ids_in(self, column: sa.ColumnElement[Any], models: Sequence[str]) -> Any:
        """`column IN (models)`."""
        return column.in_([str(m) for m in models])

    def zone_aware(self, table: sa.TableClause, column: str) -> bool:
        """Whether `column` holds zone-aware times (then bounds are compared as such): its
        declared type where the reader knows it, else one of its values."""
        got = self.frame(sa.select(table.c[column]).where(table.c[column].is_not(None)).limit(1))
        value = got.iloc[0, 0] if len(got) else None
        return getattr(value, "tzinfo", None) is not None

    def close(self) -> None:  # noqa: B027 - an engine's pool closes itself
        """Release the connection."""


class WarehouseReader(SqlReader):
    """The warehouse itself (see the module). Closes the warehouse when `owns` it."""

    def __init__(self, wh: Warehouse, where: str, owns: bool = True) -> None:
        self.wh = wh
        self.where = where
        self.owns = owns
        self._types: dict[str, dict[str, str]] = {}

    def columns(self, table: str) -> dict[str, bool] | None:
        _, name = table_parts(table)
        if name not in self._types:
            self._types[name] = self.wh.columns_of(name)
        types = self._types[name]
        return {c: "time zone" in t.lower() for c, t in types.items()} if types else None

    def zone_aware(self, table: sa.TableClause, column: str) -> bool:
        found = self.columns(table.fullname) or {}
        return bool(found.get(column))

    def frame(self, stmt: sa.Select[Any]) -> pd.DataFrame:
        compiled = stmt.compile(
            dialect=_WAREHOUSE_DIALECT, compile_kwargs={"render_postcompile": True}
        )
        return self.wh.query(str(compiled), compiled.params)

    def batches(self, stmt: sa.Select[Any]) -> Iterator[pd.DataFrame]:
        compiled = stmt.compile(
            dialect=_WAREHOUSE_DIALECT, compile_kwargs={"render_postcompile": True}
        )
        yield from self.wh.batches(str(compiled), compiled.params)

    def ids_in(self, column: sa.ColumnElement[Any], models: Sequence[str]) -> Any:
        """One JSON parameter for any number of ids (`in_models`): the SQL text stays small."""
        name = column.compile(dialect=_WAREHOUSE_DIALECT)
        return sa.text(in_models(self.wh, str(name), "ids")).bindparams(ids=ids_param(models))

    def close(self) -> None:
        if self.owns:
            self.wh.close()


class EngineWarehouse(Warehouse):
    """A SQL source's connection as the other inputs' readers take a warehouse (logs,
    declared changes, predictions, labels: `:name` placeholders, double-quoted identifiers),
    for reading only: modelwatch never writes to a source, and every write here refuses."""

    def __init__(self, engine: sa.Engine, where: str) -> None:
        self.engine = engine
        self.where = where
        self.dialect = engine.dialect.name

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        text, bound = expand_params(sql, params)
        with self.engine.connect() as con:
            return pd.read_sql(sa.text(text), con, params=bound)

    def table_exists(self, table: str) -> bool:
        schema, name = table_parts(table)
        return sa.inspect(self.engine).has_table(name, schema=schema)

    def columns_of(self, table: str) -> dict[str, str]:
        """Names from one row's probe; a column whose value is a zone-aware time is typed
        so (the readers bind their bounds as UTC then): reflection is not every dialect's."""
        if not self.table_exists(table):
            return {}
        schema, name = table_parts(table)
        probe = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema)).limit(1)
        with self.engine.connect() as con:
            got = con.execute(probe)
            keys, row = list(got.keys()), got.first()
        aware = [getattr(v, "tzinfo", None) is not None for v in (row or [None] * len(keys))]
        kinds = ("timestamp with time zone" if a else "" for a in aware)
        return dict(zip(map(str, keys), kinds, strict=True))

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise WarehouseError(f"{self.where} is a metrics source: modelwatch never writes to it")

    execute = _insert_frame = _search_path = _refuse  # type: ignore[assignment]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._refuse()
        yield

    def close(self) -> None:  # the engine belongs to the source's reader
        pass


class EngineReader(SqlReader):
    """A SQL connection's SQLAlchemy engine (see the module)."""

    #: Ids per statement: every dialect takes a thousand bound values.
    max_ids = 1000

    def __init__(self, engine: sa.Engine, where: str) -> None:
        self.engine = engine
        self.where = where

    def columns(self, table: str) -> dict[str, bool] | None:
        schema, name = table_parts(table)
        if not sa.inspect(self.engine).has_table(name, schema=schema):
            return None
        probe = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema)).limit(0)
        with self.engine.connect() as con:
            keys = list(con.execute(probe).keys())
        return {str(k): False for k in keys}

    def frame(self, stmt: sa.Select[Any]) -> pd.DataFrame:
        with self.engine.connect() as con:
            return pd.read_sql(stmt, con)

    def batches(self, stmt: sa.Select[Any]) -> Iterator[pd.DataFrame]:
        """A server-side cursor where the dialect has one (`stream_results`), read
        `STREAM_ROWS` rows at a time."""
        with self.engine.connect() as con:
            streamed = con.execution_options(stream_results=True)
            yield from pd.read_sql(stmt, streamed, chunksize=STREAM_ROWS)

    def close(self) -> None:
        self.engine.dispose()
