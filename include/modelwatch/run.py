"""A run: which hour it processes, how it may act, and where it keeps its files.

Scheduled runs, backfills and manual reruns share one code path; they differ only in the hour
they are given and in the side effects they may have. Both are decided here, from explicit
inputs, never from the wall clock. `Run` carries the decision, built once at an edge, to every
step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.folders import Folders, hour_key
from modelwatch.storage import StorePath
from modelwatch.timestamps import to_naive_utc
from modelwatch.warehouse import Warehouse, WarehouseSpec
from modelwatch.warehouse.connect import shadow_schema
from modelwatch.warehouse.source_spec import SourceSpec, source_spec

HOUR = timedelta(hours=1)
#: The hours a run may process: Unix time's start, and far enough from datetime's end that
#: every day and week computed from an hour still exists.
EARLIEST_HOUR = datetime(1970, 1, 1)
LATEST_HOUR = datetime(9000, 1, 1)


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
class Staging:
    """The files a run's steps hand each other, in the run's own folder: one name each, so no
    step spells another's file name. The folder is local or on a store (`storage`)."""

    folder: StorePath

    @property
    def hour_rows(self) -> StorePath:
        """The hour's rows as delivered (extract -> validate)."""
        return self.folder / "hour.parquet"

    @property
    def history(self) -> StorePath:
        """Training history of the models whose day detector is not cached (extract -> detect)."""
        return self.folder / "history.parquet"

    @property
    def clean(self) -> StorePath:
        """The rows that passed the gate (validate -> detect)."""
        return self.folder / "clean.parquet"

    @property
    def excluded(self) -> StorePath:
        """model -> why it was kept out of detection (validate -> persist)."""
        return self.folder / "excluded.json"

    @property
    def baselines(self) -> StorePath:
        """model -> [since, decided] of the baselines in effect (extract -> detect)."""
        return self.folder / "baselines.json"

    @property
    def overrides(self) -> StorePath:
        """model -> the detection settings its overrides change (extract -> detect)."""
        return self.folder / "overrides.json"

    def scores(self, index: int) -> StorePath:
        """One detect shard's scores (detect -> persist)."""
        return self.folder / f"scores-{index:04d}.parquet"


@dataclass(frozen=True)
class Run:
    """One run of one hour: what it processes, how it may act, where it reads, writes and
    keeps its files. Built once, at an edge (the Airflow task adapter, the CLI, what-if, the
    replay), and handed to every step; between Airflow tasks it travels as `to_dict()`.

    `source` is where the metrics are read (`source` settings: a SQL table or Prometheus;
    by default the warehouse itself), `warehouse` where the `mw_*` outputs are written and
    read back: a what-if shadow reads production's inputs and writes its own schema. Nothing
    is ever written to the source.
    """

    hour: datetime
    run_id: str
    mode: RunMode
    models: tuple[str, ...] | None
    settings: Settings
    warehouse: WarehouseSpec
    source: SourceSpec
    folders: Folders

    @property
    def day(self) -> datetime:
        return self.hour.replace(hour=0, minute=0, second=0, microsecond=0)

    @property
    def notify(self) -> bool:
        return self.mode.notify

    @property
    def dry_run(self) -> bool:
        return self.mode.dry_run

    @property
    def full(self) -> bool:
        """Whether the run owns the whole fleet (no model selection): only then does it own
        fleet-wide findings and every open alert."""
        return self.models is None

    @property
    def staging(self) -> Staging:
        return Staging(self.folders.run(self.hour, self.run_id))

    @property
    def detectors(self) -> StorePath:
        """The detector cache of this run's metrics source."""
        return detector_cache(self.folders, self.source, self.settings)

    def to_dict(self) -> dict[str, Any]:
        """What travels between tasks: no settings, no connection (each task reads its own),
        so no secret ever reaches XCom."""
        return {
            "hour": self.hour.isoformat(),
            "run_id": self.run_id,
            **asdict(self.mode),
            "models": list(self.models) if self.models is not None else None,
            "shadow": self.folders.shadow,
        }

    @classmethod
    def from_dict(
        cls, d: dict[str, Any], settings: Settings, warehouse: WarehouseSpec, folders: Folders
    ) -> Run:
        """The run `to_dict` described, with the task's own settings, production warehouse
        connection and folders (the shadow's schema and folders follow from the dict)."""
        return build_run(
            datetime.fromisoformat(d["hour"]),
            settings,
            warehouse,
            folders,
            mode=RunMode(d["run_type"], bool(d["notify"]), bool(d["dry_run"])),
            models=d.get("models"),
            run_id=d["run_id"],
            shadow=d.get("shadow"),
        )


def detector_cache(folders: Folders, source: SourceSpec, settings: Settings) -> StorePath:
    """The detector cache of a metrics source (its connection, and its table or queries and
    interval): a detector is only as good as the data it learnt from, so two sources never
    share fitted detectors."""
    return folders.detectors(f"{source.describe()}|{settings.source.identity()}")


def build_run(
    hour: datetime,
    settings: Settings,
    warehouse: WarehouseSpec,
    folders: Folders,
    mode: RunMode | None = None,
    models: Iterable[str] | None = None,
    run_id: str | None = None,
    shadow: str | None = None,
) -> Run:
    """A run of `hour` writing to production's `warehouse` and reading the settings' metrics
    source (by default that warehouse; `warehouse.source_spec`); with `shadow`, the outputs
    and files go to that what-if shadow. A manual dry run when no mode is given."""
    mode = mode or RunMode("manual", notify=False, dry_run=True)
    chosen = tuple(sorted({str(m) for m in models})) if models else None
    return Run(
        hour=hour,
        run_id=run_id or f"local__{hour_key(hour)}",
        mode=mode,
        models=chosen,
        settings=settings,
        warehouse=warehouse.in_schema(shadow_schema(shadow) if shadow else None),
        source=source_spec(settings, warehouse),
        folders=folders.for_shadow(shadow),
    )


def scope_models(wh: Warehouse, run: Run) -> list[str]:
    """The models this run owns: the operator's selection, else all judged this hour."""
    if run.models is not None:
        return list(run.models)
    got = wh.query(
        "SELECT DISTINCT model_id FROM mw_validation WHERE hour = :hour AND model_id <> :fleet",
        {"hour": run.hour, "fleet": schema.FLEET},
    )
    return sorted(got["model_id"].tolist())
