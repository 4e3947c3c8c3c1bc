"""When the scheduled run stops waiting for late rows: decided from explicit times only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from modelwatch.config import Settings, SourceConfig, ValidationConfig
from modelwatch.ingest.landing import deadline, fresh_from, judge, waits

HOUR = datetime(2026, 11, 1, 9)
END = HOUR + timedelta(hours=1)
S = Settings()  # deadline 30 minutes after the hour's end, freshness 15 minutes
FLEET = ["a", "b", "c"]


def test_defaults_deadline_half_an_hour_after_the_hours_end() -> None:
    assert deadline(HOUR, S) == END + timedelta(minutes=30)
    assert fresh_from(HOUR, S) == END - timedelta(minutes=15)  # the gate's freshness bound
    custom = Settings(source=SourceConfig(landing_deadline_minutes=5))
    assert deadline(HOUR, custom) == END + timedelta(minutes=5)
    assert fresh_from(HOUR, Settings(validation=ValidationConfig(max_staleness_minutes=5))) == (
        END - timedelta(minutes=5)
    )


@pytest.mark.parametrize(
    ("run_type", "wait"),
    [
        ("scheduled", True),
        ("DagRunType.SCHEDULED", True),
        ("manual", False),
        ("backfill", False),
        ("asset_triggered", False),
        ("local", False),
    ],
)
def test_only_scheduled_runs_wait(run_type: str, wait: bool) -> None:
    assert waits(run_type) is wait


def test_a_scheduled_run_waits_while_a_model_is_missing_before_the_deadline() -> None:
    got = judge("scheduled", HOUR, END + timedelta(minutes=2), FLEET, ["a", "c"], S)
    assert not got.done
    assert got.missing == ("b",)
    assert "waiting for 1 of 3 models until 2026-11-01 10:30 UTC" in got.reason


def test_a_scheduled_run_goes_on_once_every_model_has_landed() -> None:
    got = judge("scheduled", HOUR, END + timedelta(minutes=2), FLEET, ["c", "b", "a", "new"], S)
    assert got.done and got.missing == ()


@pytest.mark.parametrize("late", [timedelta(0), timedelta(minutes=1), timedelta(hours=5)])
def test_at_and_after_the_deadline_the_run_goes_on_and_names_the_missing(late) -> None:
    now = deadline(HOUR, S) + late
    got = judge("scheduled", HOUR, now, FLEET, ["a"], S)
    assert got.done
    assert got.missing == ("b", "c")
    assert "deadline 2026-11-01 10:30 UTC passed with 2 of 3 models missing" in got.reason


def test_one_second_before_the_deadline_it_still_waits() -> None:
    now = deadline(HOUR, S) - timedelta(seconds=1)
    assert not judge("scheduled", HOUR, now, FLEET, [], S).done


def test_an_aware_now_is_compared_in_utc() -> None:
    after = (deadline(HOUR, S) + timedelta(minutes=1)).replace(tzinfo=UTC)
    assert judge("scheduled", HOUR, after, FLEET, [], S).done
    # 11:20 at +01:00 is 10:20 UTC, before the 10:30 UTC deadline (naively it would be after)
    before = datetime(2026, 11, 1, 11, 20, tzinfo=timezone(timedelta(hours=1)))
    assert not judge("scheduled", HOUR, before, FLEET, [], S).done


@pytest.mark.parametrize("run_type", ["manual", "backfill"])
def test_manual_and_backfill_runs_never_wait_whatever_the_clock(run_type: str) -> None:
    # a run of a past hour, and one of the hour that just ended: neither waits
    for now in (HOUR + timedelta(days=30), END + timedelta(minutes=1)):
        got = judge(run_type, HOUR, now, FLEET, [], S)
        assert got.done and got.missing == ()


def test_nothing_expected_nothing_to_wait_for() -> None:
    assert judge("scheduled", HOUR, END, [], [], S).done
