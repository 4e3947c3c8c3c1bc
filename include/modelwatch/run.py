"""A run: which hour it processes, how it may act, and where it keeps its files.

Scheduled runs, backfills and manual reruns share one code path; they differ only in the hour
they are given and in the side effects they may have. Both are decided here, from explicit
inputs, never from the wall clock. `RunContext` carries the decision from task to task.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.timestamps import to_naive_utc
from modelwatch.warehouse import Warehouse

HOUR = timedelta(hours=1)
#: The hours a run may process: Unix time's start, and far enough from datetime's end that
#: every day and week computed from an hour still exists.
EARLIEST_HOUR = datetime(1970, 1, 1)
LATEST_HOUR = datetime(9000, 1, 1)
#: How an hour is written in folder names, keys and ids (report folders, staging, request ids).
HOUR_FORMAT = "%Y%m%dT%H"

#: The staged files of a run, in its staging folder.
HOUR_ROWS, HISTORY, CLEAN = "hour.parquet", "history.parquet", "clean.parquet"
EXCLUDED = "excluded.json"


def hour_key(hour: datetime) -> str:
    """The hour as it appears in folder names and ids: 20261101T09."""
    return f"{hour:{HOUR_FORMAT}}"


class WindowError(ValueError):
    """The requested hour or run parameters cannot be understood."""


def parse_hour(value: str | datetime) -> datetime:
    """Parse an ISO timestamp that must sit on the top of an hour (naive means UTC)."""
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            value = datetime.fromisoformat(text)
        except ValueError as exc:
            raise WindowError(
                f"hour {value!r} is not an ISO timestamp like 2026-11-01T09:00:00Z"
            ) from exc
    try:
        hour = to_naive_utc(value)
    except (OverflowError, ValueError) as exc:  # e.g. year 1 with a positive offset
        raise WindowError(f"hour {value!s} is out of range") from exc
    if hour != hour.replace(minute=0, second=0, microsecond=0):
        raise WindowError(f"hour {value!s} is not at the top of an hour (minutes must be :00:00)")
    if not EARLIEST_HOUR <= hour <= LATEST_HOUR:
        raise WindowError(
            f"hour {value!s} is out of range: metrics hours lie between "
            f"{EARLIEST_HOUR:%Y-%m-%d} and {LATEST_HOUR:%Y-%m-%d}"
        )
    return hour


def check_hour_ended(hour: datetime, now: datetime) -> None:
    """Refuse an hour that has not ended by `now` (the run's own time, never the wall clock in
    logic): its rows are not all there, and a run of it would record a false outage and prune
    the detector cache relative to a day that has not come."""
    now = to_naive_utc(now)
    if hour + HOUR > now:
        raise WindowError(
            f"hour {hour:%Y-%m-%d %H:00} has not ended yet (now is {now:%Y-%m-%d %H:%M} UTC): "
            "process only hours that are over"
        )


def floor_hour(value: datetime) -> datetime:
    return to_naive_utc(value).replace(minute=0, second=0, microsecond=0)


def resolve_hour(
    param_hour: str | datetime | None,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_after: datetime | None,
) -> datetime:
    """The hour [h, h+1) to process.

    An explicit `hour` param wins; else the run's data interval (which must be one hour);
    else, for a manual run with no interval, the last full hour before `run_after`.
    """
    if param_hour not in (None, ""):
        return parse_hour(param_hour)  # type: ignore[arg-type]
    if data_interval_start is not None and data_interval_end is not None:
        start, end = to_naive_utc(data_interval_start), to_naive_utc(data_interval_end)
        if end - start == HOUR:
            return parse_hour(start)
        if end != start:
            raise WindowError(f"data interval {start} .. {end} is not one hour; pass `hour`")
    if run_after is not None:
        return floor_hour(run_after) - HOUR
    raise WindowError("cannot tell which hour to process: no `hour`, data interval or run_after")


@dataclass(frozen=True)
class RunMode:
    """What a run may do beyond recording its findings."""

    run_type: str
    notify: bool
    dry_run: bool

    @property
    def is_backfill(self) -> bool:
        return self.run_type == "backfill"


def resolve_mode(run_type: str, params: dict[str, Any], config_dry_run: bool) -> RunMode:
    """Backfills never notify nor act; manual runs follow their params; scheduled runs the config.

    A backfill replays history: paging someone or scaling production for last Tuesday would be
    wrong whatever the params say, so it records what it would have done instead.
    """
    run_type = str(run_type).lower().rsplit(".", 1)[-1]
    if run_type == "backfill":
        return RunMode(run_type, notify=False, dry_run=True)
    if run_type == "scheduled":
        return RunMode(run_type, notify=True, dry_run=config_dry_run)
    return RunMode(
        run_type,
        notify=bool(params.get("notify", False)),
        dry_run=bool(params.get("dry_run", True)),
    )


@dataclass(frozen=True)
class RunContext:
    """What a run processes and may do; travels between tasks as a small dict."""

    hour: datetime
    run_id: str
    run_type: str
    notify: bool
    dry_run: bool
    models: tuple[str, ...] | None
    staging: str

    @property
    def mode(self) -> RunMode:
        return RunMode(self.run_type, self.notify, self.dry_run)

    @property
    def path(self) -> Path:
        return Path(self.staging)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hour"] = self.hour.isoformat()
        d["models"] = list(self.models) if self.models is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunContext:
        return cls(
            hour=datetime.fromisoformat(d["hour"]),
            run_id=d["run_id"],
            run_type=d["run_type"],
            notify=bool(d["notify"]),
            dry_run=bool(d["dry_run"]),
            models=tuple(d["models"]) if d.get("models") is not None else None,
            staging=d["staging"],
        )


def make_context(
    hour: datetime, run_id: str, mode: RunMode, models: list[str] | None, settings: Settings
) -> RunContext:
    """Give the run its own staging folder, so concurrent runs of one hour never share files."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:120]
    staging = settings.staging_path() / hour_key(hour) / safe
    return RunContext(
        hour=hour,
        run_id=run_id,
        run_type=mode.run_type,
        notify=mode.notify,
        dry_run=mode.dry_run,
        models=tuple(sorted(set(models))) if models else None,
        staging=str(staging),
    )


def scope_models(wh: Warehouse, ctx: RunContext) -> list[str]:
    """The models this run owns: the operator's selection, else all judged this hour."""
    if ctx.models is not None:
        return list(ctx.models)
    got = wh.query(
        "SELECT DISTINCT model_id FROM mw_validation WHERE hour = :hour AND model_id <> :fleet",
        {"hour": ctx.hour, "fleet": schema.FLEET},
    )
    return sorted(got["model_id"].tolist())
