"""What-if shadow runs: the hourly pipeline over past hours, into a schema of its own.

A shadow named `n` is the schema `whatif_n` of the production warehouse, holding tables named
like production's (`mw_scores`, `mw_alerts`, ...). The steps are the DAG's own (through
`pipeline.runner.run_hour`); only where they write differs: the run's warehouse connection
carries the schema (`WarehouseSpec.write_schema`), so their unqualified SQL finds the shadow's
`mw_*` tables first and the inputs (`model_metrics`, `models`, ...) in production's schema, and
its folders are the shadow's own (`Folders.for_shadow`), so staging, the detector cache and the
reports live apart. It never sends nor dispatches, and writes nothing into production's schema; of
production's own tables it reads only the silences (copied into the shadow when a run starts).

The shadow's record (`mw_whatif`, in the shadow) holds its window, models, settings and the
last hour done: a rerun continues after it, and a rerun of a finished shadow does nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from modelwatch.config import Settings
from modelwatch.folders import Folders, hour_key
from modelwatch.ingest.connect import open_source
from modelwatch.ingest.extract import data_hours
from modelwatch.pipeline.runner import run_hour
from modelwatch.pipeline.table import DISPATCH
from modelwatch.run import HOUR, RunMode, build_run
from modelwatch.storage import remove_tree
from modelwatch.warehouse import Warehouse, WarehouseError, WarehouseSpec, open_warehouse
from modelwatch.warehouse.base import quote_ident
from modelwatch.warehouse.connect import SHADOW_PREFIX, shadow_schema
from modelwatch.warehouse.source_spec import source_spec

PREFIX = SHADOW_PREFIX
RECORD = "mw_whatif"
#: What a shadow may do: record, never notify, never act.
WHATIF = RunMode("whatif", notify=False, dry_run=True)
SILENCES = "mw_silences"

_RECORD_DDL = (
    f"CREATE TABLE IF NOT EXISTS {RECORD} ("
    " name VARCHAR NOT NULL PRIMARY KEY, from_hour TIMESTAMP NOT NULL,"
    " to_hour TIMESTAMP NOT NULL, models VARCHAR, config_digest VARCHAR NOT NULL,"
    " config VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, done_hour TIMESTAMP)"
)


class WhatifError(ValueError):
    """A shadow cannot be run, listed or dropped as asked; the message says why."""


def schema_of(name: str) -> str:
    """The schema of shadow `name` (validated: it becomes an identifier and a folder)."""
    try:
        return shadow_schema(name)
    except WarehouseError as exc:
        raise WhatifError(str(exc)) from None


def shadow_spec(spec: WarehouseSpec, name: str) -> WarehouseSpec:
    """The production connection, writing into shadow `name`."""
    return spec.in_schema(schema_of(name))


@dataclass(frozen=True)
class Shadow:
    """A shadow's record: what it runs over, with which settings, and how far it got."""

    name: str
    start: datetime
    end: datetime
    models: tuple[str, ...] | None
    digest: str
    done: datetime | None

    @property
    def hours_total(self) -> int:
        return int((self.end - self.start) / HOUR)

    @property
    def hours_done(self) -> int:
        return 0 if self.done is None else int((self.done - self.start) / HOUR) + 1


def _read_record(wh: Warehouse, table: str = RECORD) -> Shadow | None:
    got = wh.query(f"SELECT * FROM {table}")
    if got.empty:
        return None
    r = got.iloc[0]
    done = None if pd.isna(r["done_hour"]) else pd.Timestamp(r["done_hour"]).to_pydatetime()
    models = json.loads(r["models"]) if isinstance(r["models"], str) else None
    return Shadow(
        str(r["name"]),
        pd.Timestamp(r["from_hour"]).to_pydatetime(),
        pd.Timestamp(r["to_hour"]).to_pydatetime(),
        tuple(models) if models is not None else None,
        str(r["config_digest"]),
        done,
    )


def _claim(wh: Warehouse, want: Shadow, settings: Settings, now: datetime) -> Shadow:
    """The shadow's record, written on its first run; a rerun must ask for the same thing."""
    wh.execute(_RECORD_DDL)
    have = _read_record(wh)
    if have is None:
        row = pd.DataFrame(
            [
                {
                    "name": want.name,
                    "from_hour": want.start,
                    "to_hour": want.end,
                    "models": json.dumps(list(want.models)) if want.models else None,
                    "config_digest": want.digest,
                    "config": settings.model_dump_json(),
                    "created_at": now,
                    "done_hour": None,
                }
            ]
        )
        for c in ("from_hour", "to_hour", "created_at", "done_hour"):
            row[c] = pd.to_datetime(row[c]).astype("datetime64[us]")
        wh.insert(RECORD, row)
        return want
    differs = [
        what
        for what, a, b in (
            ("window", (have.start, have.end), (want.start, want.end)),
            ("models", have.models, want.models),
            ("settings", have.digest, want.digest),
        )
        if a != b
    ]
    if differs:
        raise WhatifError(
            f"shadow {want.name} exists with other {', '.join(differs)}: continue it with the "
            f"same arguments, or `modelwatch whatif --drop {want.name}` first"
        )
    return have


def production_silences(production: WarehouseSpec) -> pd.DataFrame | None:
    """Production's silences: the one production table a shadow reads (an operator's silence
    is part of what would have happened). None if production has no such table."""
    with open_warehouse(production) as prod:
        home = str(prod.query("SELECT current_schema() AS s")["s"].iloc[0])
        if SILENCES not in prod.schema_tables(home):
            return None
        return prod.query(f"SELECT * FROM {SILENCES}")


def _copy_silences(frame: pd.DataFrame | None, wh: Warehouse) -> None:
    if frame is None:
        return
    cols = [c for c in frame.columns if c in set(_columns(wh, SILENCES))]
    wh.replace(SILENCES, frame[cols], "1 = 1")


def _columns(wh: Warehouse, table: str) -> list[str]:
    return wh.query(f"SELECT * FROM {table} WHERE 1 = 0").columns.tolist()


def _check_window(spec: WarehouseSpec, settings: Settings, start: datetime, end: datetime) -> None:
    """The window must lie within the hours the source has rows for: a typo'd year would
    otherwise claim a shadow of millions of empty hours (and build their list)."""
    metrics = source_spec(settings, spec)
    with open_warehouse(spec) as prod, open_source(metrics, settings, prod) as source:
        span = data_hours(source)
        where = settings.source.table if settings.source.kind == "sql" else source.describe()
    if span is None:
        raise WhatifError(f"the source {where} holds no rows to replay")
    lo, hi = span[0], span[1] + HOUR
    if start < lo or end > hi:
        raise WhatifError(
            f"the window {start:%Y-%m-%dT%H}..{end:%Y-%m-%dT%H} reaches outside the data "
            f"({where} holds {lo:%Y-%m-%dT%H}..{hi:%Y-%m-%dT%H}); "
            "a shadow replays hours the source has rows for"
        )


def run_shadow(
    spec: WarehouseSpec,
    settings: Settings,
    name: str,
    start: datetime,
    end: datetime,
    models: list[str] | None = None,
    progress: bool = True,
    timings: dict[str, float] | None = None,
    now: Callable[[], datetime] | None = None,
    folders: Folders | None = None,
) -> dict[str, Any]:
    """Run the hours [start, end) of shadow `name`, in order, continuing where it stopped.

    Each hour holds an embedded DuckDB file open while its steps run (`run_hour`'s
    `held_open`) and lets go of it after, so the hourly production run waits at most for the
    shadow hour in progress, never for the whole shadow."""
    if spec.write_schema:
        raise WhatifError("give the production connection; the shadow picks its own schema")
    if end <= start:
        raise WhatifError(f"--to {end} must come after --from {start}")
    shadow = shadow_spec(spec, name)
    _check_window(spec, settings, start, end)  # before anything is created or claimed
    wanted = Shadow(
        name, start, end, tuple(sorted(set(models))) if models else None, settings.digest(), None
    )
    clock = now or (lambda: datetime.now(UTC).replace(tzinfo=None))
    silences = production_silences(spec)
    with open_warehouse(shadow, migrate=True) as wh:
        record = _claim(wh, wanted, settings, clock())
        _copy_silences(silences, wh)
    first = start if record.done is None else record.done + HOUR
    todo = max(0, int((end - first) / HOUR))
    folders = folders or Folders.from_env(settings)
    from tqdm import tqdm

    lines = []
    hours = (first + i * HOUR for i in range(todo))
    for hour in tqdm(hours, total=todo, desc=f"whatif {name}", unit="h", disable=not progress):
        run = build_run(
            hour,
            settings,
            spec,
            folders,
            mode=WHATIF,
            models=record.models,
            run_id=f"whatif__{name}__{hour_key(hour)}",
            shadow=name,
        )
        summary = run_hour(run, skip=(DISPATCH,), timings=timings)["summary"]
        lines.append(summary.get("line", ""))
        with open_warehouse(shadow) as wh:
            wh.execute(f"UPDATE {RECORD} SET done_hour = :h", {"h": hour})
    return {
        "name": name,
        "schema": schema_of(name),
        "hours_run": todo,
        "hours_total": record.hours_total,
        "lines": lines,
    }


def _schemas(wh: Warehouse) -> list[str]:
    got = wh.query(
        "SELECT DISTINCT schema_name FROM information_schema.schemata "
        "WHERE schema_name LIKE :p ORDER BY schema_name",
        {"p": PREFIX + "%"},
    )["schema_name"]
    return [s for s in got if s.startswith(PREFIX)]


def list_shadows(spec: WarehouseSpec) -> list[Shadow]:
    """Every shadow of this warehouse, from the shadow schemas themselves (production holds
    no list of them)."""
    with open_warehouse(spec) as wh:
        schemas = _schemas(wh)
        out = []
        for schema in schemas:
            if RECORD in wh.schema_tables(schema):
                found = _read_record(wh, quote_ident(f"{schema}.{RECORD}"))
                if found is not None:
                    out.append(found)
    return out


def _is_shadow(wh: Warehouse, schema: str, name: str) -> bool:
    """Whether `schema` holds the record of shadow `name`: a schema that merely carries the
    prefix (made by hand, or by another tool) is not a shadow."""
    if schema not in _schemas(wh) or RECORD not in wh.schema_tables(schema):
        return False
    found = _read_record(wh, quote_ident(f"{schema}.{RECORD}"))
    return found is not None and found.name == name


def drop_shadow(
    spec: WarehouseSpec, settings: Settings, name: str, folders: Folders | None = None
) -> bool:
    """Drop the shadow's schema and its files; False, touching nothing, when no schema holds
    the record of a shadow of that name."""
    schema = schema_of(name)
    mine = (folders or Folders.from_env(settings)).for_shadow(name)
    with open_warehouse(spec) as wh:
        if not _is_shadow(wh, schema, name):
            return False
        wh.execute(f"DROP SCHEMA {quote_ident(schema)} CASCADE")
    for folder in (mine.staging, mine.reports):
        remove_tree(folder)
    return True
