"""Has the hour's data landed? The scheduled run's wait before it extracts.

Metrics land minutes after the minute they describe; a run started at the top of the hour
would find the last minutes of the hour it checks still missing, and quarantine models as stale
that were only late. So a scheduled run waits until every model it waits for has a row as fresh
as the validation gate requires (`validation.max_staleness_minutes` before the hour's end):
waiting for one row per model would stop at the hour's first minutes, and watching a row count
stop growing needs state between pokes and mistakes a slow pipeline for a finished one.

It waits for the models that reported in the hour before (or the run's own models): one
already silent then is an outage, not late, and a retired model must not hold up every run of
the week the gate still expects it. It waits no later than `source.landing_deadline_minutes`
after the hour's end, so a model that is really down cannot hold the fleet's run back: after
the deadline the run goes on and the gate judges the missing models no_data.

Manual, CLI and backfill runs process hours whose rows are in already (or never will be): they
never wait. Whether to wait is decided from the run's type; the wall clock (`now`, given
explicitly) only tells whether the deadline has passed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.ingest.extract import known_models
from modelwatch.run import HOUR, Run
from modelwatch.timestamps import to_naive_utc
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident

log = logging.getLogger(__name__)

#: The only run type that waits: the scheduler's run of the hour that just ended.
WAITING_RUN_TYPE = "scheduled"


@dataclass(frozen=True)
class Landing:
    """The sensor's answer: go on (`done`), and why; the models still missing, if any."""

    done: bool
    reason: str
    missing: tuple[str, ...] = ()


def waits(run_type: str) -> bool:
    """Whether a run of this type waits for its hour's rows (only scheduled runs do)."""
    return str(run_type).lower().rsplit(".", 1)[-1] == WAITING_RUN_TYPE


def deadline(hour: datetime, settings: Settings) -> datetime:
    """When waiting for `hour` stops: `landing_deadline_minutes` after the hour's end."""
    return hour + HOUR + timedelta(minutes=settings.source.landing_deadline_minutes)


def fresh_from(hour: datetime, settings: Settings) -> datetime:
    """A model has landed once it has a row at or after this: the gate's freshness bound."""
    return hour + HOUR - timedelta(minutes=settings.validation.max_staleness_minutes)


def judge(
    run_type: str,
    hour: datetime,
    now: datetime,
    expected: Collection[str],
    landed: Collection[str],
    settings: Settings,
) -> Landing:
    """Decide from explicit inputs: the run's type, the hour, the current time, the models
    expected and those whose rows have landed."""
    if not waits(run_type):
        return Landing(True, f"{run_type} run: processes the hour as it is, no wait")
    missing = tuple(sorted(set(expected) - set(landed)))
    if not missing:
        return Landing(True, f"all {len(set(expected))} expected models have landed")
    end = deadline(hour, settings)
    if to_naive_utc(now) >= end:
        return Landing(
            True,
            f"landing deadline {end:%Y-%m-%d %H:%M} UTC passed with {len(missing)} of "
            f"{len(set(expected))} models missing; going on, they will be judged no_data",
            missing,
        )
    return Landing(
        False,
        f"waiting for {len(missing)} of {len(set(expected))} models until {end:%Y-%m-%d %H:%M} UTC",
        missing,
    )


def landed_models(wh: Warehouse, settings: Settings, hour: datetime) -> set[str]:
    """Models with a row in [fresh_from, end of hour): fresh enough for the gate."""
    src = settings.source
    ts_col = quote_ident(src.column(schema.TS))
    id_col = quote_ident(src.column(schema.MODEL_ID))
    got = wh.query(
        f"SELECT DISTINCT {id_col} AS model_id FROM {quote_ident(src.table)} "
        f"WHERE {ts_col} >= :start AND {ts_col} < :end AND {id_col} IS NOT NULL",
        {"start": fresh_from(hour, settings), "end": hour + HOUR},
    )
    return set(got["model_id"].astype(str))


def check_landing(wh: Warehouse, run: Run, now: datetime) -> Landing:
    """One poke: has `run.hour` landed for the run's models (or every model expected now)?
    Runs that do not wait answer without reading the warehouse."""
    settings, run_type = run.settings, run.mode.run_type
    if not waits(run_type):
        return judge(run_type, run.hour, now, (), (), settings)
    if run.models is not None:
        expected: list[str] = list(run.models)
    else:  # the models that reported an hour ago: one silent since is an outage, not late
        expected = known_models(wh, settings.source, run.hour, HOUR)
    result = judge(
        run_type, run.hour, now, expected, landed_models(wh, settings, run.hour), settings
    )
    shown = ", ".join(result.missing[:10]) + (" ..." if len(result.missing) > 10 else "")
    log.info("%s%s", result.reason, f" (missing: {shown})" if result.missing else "")
    return result
