"""A metrics source that is a SQL table (`source.kind: sql`): rows of (model, time, metrics).

Each read is one SQLAlchemy Core statement over the table, its columns named by the config's
map (`source.columns`), run by a reader (`sql_readers.py`): the warehouse's own backend when
the table is in the warehouse, else the SQLAlchemy engine of the connection's Airflow hook.
Table and column names come from the settings (checked identifiers) and reach SQL only as
identifiers the dialect quotes; ids and times only as bound values. Bounds compared with a
zone-aware time column are bound zone-aware (UTC), so no session time zone can shift a window.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from modelwatch import schema
from modelwatch.config import SourceConfig
from modelwatch.ingest.normalise import metrics_frame, times
from modelwatch.ingest.source import MetricsSource, SourceError, empty_versions
from modelwatch.ingest.sql_readers import EngineReader, EngineWarehouse, SqlReader, table_parts
from modelwatch.warehouse import Warehouse

HOUR = timedelta(hours=1)
#: Ids checked one at a time (each stops at its first row) rather than by one full scan.
ONE_BY_ONE = 50


class SqlSource(MetricsSource):
    """Reads `source.table` through `reader` (see the module)."""

    def __init__(self, cfg: SourceConfig, reader: SqlReader) -> None:
        super().__init__(cfg)
        self.reader = reader
        self._cols: dict[str, bool] | None = None
        self._aware: bool | None = None
        self._companion: Warehouse | None = None

    def describe(self) -> str:
        return f"{self.cfg.table} on {self.reader.where}"

    # -- the table -------------------------------------------------------------------------
    def _columns(self) -> dict[str, bool]:
        """The table's columns by lower-case name (-> zone-aware); `SourceError` without it."""
        if self._cols is None:
            found = self.reader.columns(self.cfg.table)
            if found is None:
                raise SourceError(
                    f"source table {self.cfg.table!r} does not exist in {self.reader.where} "
                    "(set source.table, or source.conn_id for a table elsewhere)"
                )
            self._cols = {c.lower(): aware for c, aware in found.items()}
        return self._cols

    def _has(self, ours: str) -> bool:
        return self.cfg.column(ours).lower() in self._columns()

    def check(self) -> None:
        """The table and its key columns must exist before a query names them, or the error
        is the database's ("column not found") instead of one naming the setting."""
        for key in (schema.MODEL_ID, schema.TS):
            if not self._has(key):
                raise SourceError(
                    f"source table {self.cfg.table!r} has no column {self.cfg.column(key)!r} "
                    f"for {key!r}; map it with source.columns in the config"
                )

    def _table(self) -> sa.TableClause:
        schema_name, name = table_parts(self.cfg.table)
        wanted = [self.cfg.column(c) for c in self.cfg.all_columns if self._has(c)]
        return sa.table(name, *(sa.column(c) for c in wanted), schema=schema_name)

    def _key(self, table: sa.TableClause, ours: str) -> sa.ColumnElement[Any]:
        return table.c[self.cfg.column(ours)]

    def _window(self, table: sa.TableClause, start: datetime, end: datetime) -> Any:
        """start <= ts < end, bound as the column's kind of time (zone-aware or naive)."""
        if self._aware is None:
            self._aware = self.reader.zone_aware(table, self.cfg.column(schema.TS))
        ts = sa.type_coerce(self._key(table, schema.TS), sa.DateTime(timezone=self._aware))
        if self._aware:
            start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)
        return sa.and_(ts >= start, ts < end)

    def _chunks(self, models: Sequence[str]) -> list[Sequence[str]]:
        size = self.reader.max_ids or max(len(models), 1)
        return [models[i : i + size] for i in range(0, len(models), size)]

    # -- reads -----------------------------------------------------------------------------
    def read(
        self, start: datetime, end: datetime, models: Sequence[str] | None = None
    ) -> pd.DataFrame:
        self.check()
        table = self._table()
        mid, ts = self._key(table, schema.MODEL_ID), self._key(table, schema.TS)
        base = sa.select(*table.c).where(self._window(table, start, end))
        if models is None:
            raw = self.reader.frame(base.order_by(mid, ts))
        else:
            ids = [str(m) for m in dict.fromkeys(models)]
            stmts = [base.where(self.reader.ids_in(mid, c)) for c in self._chunks(ids)]
            parts = [self.reader.frame(s.order_by(mid, ts)) for s in stmts]
            raw = (
                pd.concat(parts, ignore_index=True)
                if parts
                else pd.DataFrame(columns=list(table.c.keys()))
            )
        return metrics_frame(raw, self.cfg)

    def stream(self, start: datetime, end: datetime) -> Iterator[pd.DataFrame]:
        """One unordered read of the window, in the reader's batches: a table scan, where a
        read of a list of models (a semi-join) scans the table once per list."""
        self.check()
        table = self._table()
        stmt = sa.select(*table.c).where(self._window(table, start, end))
        empty = pd.DataFrame(columns=list(table.c.keys()))  # a result of no batch at all
        raws = itertools.chain(self.reader.batches(stmt), [empty])
        return (metrics_frame(raw, self.cfg) for raw in raws)

    def reporting(self, start: datetime, end: datetime) -> list[str]:
        self.check()
        table = self._table()
        mid = self._key(table, schema.MODEL_ID)
        stmt = sa.select(mid.label("model_id")).distinct()
        got = self.reader.frame(stmt.where(self._window(table, start, end), mid.is_not(None)))
        return sorted(got.iloc[:, 0].astype(str).tolist())

    def newest(self, start: datetime, end: datetime) -> dict[str, datetime]:
        self.check()
        table = self._table()
        mid, ts = self._key(table, schema.MODEL_ID), self._key(table, schema.TS)
        stmt = (
            sa.select(mid.label("model_id"), sa.func.max(ts).label("last"))
            .where(self._window(table, start, end), mid.is_not(None))
            .group_by(mid)
        )
        got = self.reader.frame(stmt)
        last = times(got.iloc[:, 1]) if len(got) else got.iloc[:, 1]
        return {
            str(m): pd.Timestamp(t).to_pydatetime()
            for m, t in zip(got.iloc[:, 0], last, strict=True)
            if not pd.isna(t)
        }

    def active_hours(self, start: datetime, end: datetime) -> list[datetime]:
        """Hour buckets by CASE over bound hour boundaries: standard SQL, no date function."""
        self.check()
        hours = list(pd.date_range(start, end, freq="h", inclusive="left").to_pydatetime())
        if not hours:
            return []
        table = self._table()
        ts = self._key(table, schema.TS)
        aware = bool(self._aware)
        bounds = [h + HOUR for h in hours[:-1]]
        typed = sa.type_coerce(ts, sa.DateTime(timezone=aware))
        when = [(typed < (b.replace(tzinfo=UTC) if aware else b), i) for i, b in enumerate(bounds)]
        bucket = sa.case(*when, else_=len(hours) - 1) if when else sa.literal_column("0")
        stmt = sa.select(bucket.label("k")).distinct().where(self._window(table, start, end))
        got = self.reader.frame(stmt)
        return sorted(hours[int(k)] for k in got.iloc[:, 0])

    def span(self) -> tuple[datetime, datetime] | None:
        self.check()
        table = self._table()
        ts = self._key(table, schema.TS)
        got = self.reader.frame(sa.select(sa.func.min(ts).label("lo"), sa.func.max(ts).label("hi")))
        if got.empty or pd.isna(got.iloc[0, 0]):
            return None
        lo, hi = (times(got.iloc[:, i]).dt.floor("h").iloc[0].to_pydatetime() for i in (0, 1))
        return lo, hi

    def reported(self, among: Sequence[str] | None = None) -> set[str]:
        """No source table: no model has reported (the unknown-id checks then refuse all)."""
        try:
            self.check()
        except SourceError:
            return set()
        table = self._table()
        mid = self._key(table, schema.MODEL_ID)
        if among is not None and len(among) <= ONE_BY_ONE:
            found = set()
            for m in dict.fromkeys(str(x) for x in among):
                hit = self.reader.frame(sa.select(mid).where(mid == m).limit(1))
                if len(hit):
                    found.add(m)
            return found
        stmt = sa.select(mid.label("model_id")).distinct().where(mid.is_not(None))
        if among is None:
            got = [self.reader.frame(stmt)]
        else:
            ids = [str(m) for m in dict.fromkeys(among)]
            chunks = self._chunks(ids)
            got = [self.reader.frame(stmt.where(self.reader.ids_in(mid, c))) for c in chunks]
        return {str(v) for frame in got for v in frame.iloc[:, 0]}

    def versions(
        self, models: Sequence[str], start: datetime, end: datetime
    ) -> pd.DataFrame | None:
        self.check()
        if not self._has(schema.MODEL_VERSION):
            return super().versions(models, start, end)
        if not models:
            return empty_versions()
        table = self._table()
        mid, ts = self._key(table, schema.MODEL_ID), self._key(table, schema.TS)
        ver = self._key(table, schema.MODEL_VERSION)
        parts = []
        for chunk in self._chunks([str(m) for m in dict.fromkeys(models)]):
            stmt = (
                sa.select(
                    mid.label("model_id"), ver.label("version"), sa.func.min(ts).label("first_ts")
                )
                .where(self._window(table, start, end), ver.is_not(None))
                .where(self.reader.ids_in(mid, chunk))
                .group_by(mid, ver)
            )
            parts.append(self.reader.frame(stmt))
        got = pd.concat(parts, ignore_index=True)
        if got.empty:
            return empty_versions()
        got.columns = ["model_id", "version", "first_ts"]
        return got.assign(
            model_id=got["model_id"].astype(str),
            first_ts=times(got["first_ts"]),
        )

    def companion(self, wh: Warehouse) -> Warehouse:
        """The source's own connection when it is not the warehouse (see the base class)."""
        if isinstance(self.reader, EngineReader):
            if self._companion is None:
                self._companion = EngineWarehouse(self.reader.engine, self.reader.where)
            return self._companion
        return wh

    def close(self) -> None:
        self.reader.close()


def warehouse_source(wh: Warehouse, cfg: SourceConfig) -> SqlSource:
    """A source reading `cfg.table` from an open warehouse (left open on close): for callers
    that hold the warehouse already, and tests."""
    from modelwatch.ingest.sql_readers import WarehouseReader

    return SqlSource(cfg, WarehouseReader(wh, wh.dialect, owns=False))
