"""Which hour a run processes and what it may do: pure functions of explicit inputs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from modelwatch.run import (
    HOUR,
    RunMode,
    WindowError,
    check_hour_ended,
    floor_hour,
    parse_hour,
    resolve_hour,
    resolve_mode,
)
from modelwatch.timestamps import to_naive_utc

H = datetime(2026, 11, 1, 9)
PLUS2 = timezone(timedelta(hours=2))


# ------------------------------------------------------------------------------------ parse_hour
@pytest.mark.parametrize(
    "text",
    [
        "2026-11-01T09:00:00Z",
        "2026-11-01T09:00:00",
        "2026-11-01T09:00",
        "2026-11-01 09:00:00+00:00",
        "2026-11-01T11:00:00+02:00",
        "  2026-11-01T09:00:00Z  ",
    ],
)
def test_parse_hour_accepts_iso_strings_as_naive_utc(text: str) -> None:
    hour = parse_hour(text)
    assert hour == H
    assert hour.tzinfo is None


def test_parse_hour_accepts_datetimes_naive_and_aware() -> None:
    assert parse_hour(H) == H
    aware = datetime(2026, 11, 1, 11, tzinfo=PLUS2)
    assert parse_hour(aware) == H
    assert parse_hour(aware).tzinfo is None


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-01T09:30:00Z",
        "2026-11-01T09:00:01",
        "2026-11-01T09:00:00.5",
        datetime(2026, 11, 1, 9, 0, 0, 1),
        datetime(2026, 11, 1, 9, 15),
    ],
)
def test_parse_hour_rejects_values_off_the_top_of_the_hour(value: str | datetime) -> None:
    with pytest.raises(WindowError, match="top of an hour"):
        parse_hour(value)


def test_parse_hour_rejects_offsets_that_leave_the_hour() -> None:
    # 09:00 at +05:30 is 03:30 UTC: not the top of a UTC hour.
    with pytest.raises(WindowError, match="top of an hour"):
        parse_hour("2026-11-01T09:00:00+05:30")


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-01T09:00:00", "09:00", "2026-11-01X"])
def test_parse_hour_rejects_bad_strings_with_an_example(text: str) -> None:
    with pytest.raises(WindowError, match="not an ISO timestamp") as info:
        parse_hour(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_to_naive_utc_and_floor_hour() -> None:
    assert to_naive_utc(datetime(2026, 11, 1, 11, 5, tzinfo=PLUS2)) == datetime(2026, 11, 1, 9, 5)
    naive = datetime(2026, 11, 1, 9, 5)
    assert to_naive_utc(naive) is naive
    assert floor_hour(datetime(2026, 11, 1, 9, 59, 59, 999)) == H
    assert floor_hour(datetime(2026, 11, 1, 11, 1, tzinfo=PLUS2)) == H


# ---------------------------------------------------------------------------------- resolve_hour
def test_explicit_param_wins_over_interval_and_run_after() -> None:
    got = resolve_hour(
        "2026-10-31T20:00:00Z",
        data_interval_start=H,
        data_interval_end=H + HOUR,
        run_after=H + timedelta(days=3),
    )
    assert got == datetime(2026, 10, 31, 20)


def test_explicit_param_as_datetime() -> None:
    aware = datetime(2026, 10, 31, 22, tzinfo=PLUS2)
    assert resolve_hour(aware, None, None, None) == datetime(2026, 10, 31, 20)


def test_bad_param_is_an_error_even_when_an_interval_exists() -> None:
    with pytest.raises(WindowError):
        resolve_hour("2026-10-31T20:30:00Z", H, H + HOUR, H)
    with pytest.raises(WindowError):
        resolve_hour("not a time", H, H + HOUR, H)


def test_empty_param_falls_back_to_the_interval() -> None:
    assert resolve_hour("", H, H + HOUR, H + timedelta(days=1)) == H
    assert resolve_hour(None, H, H + HOUR, H + timedelta(days=1)) == H


def test_one_hour_interval_wins_over_run_after() -> None:
    assert resolve_hour(None, H, H + HOUR, run_after=H + timedelta(hours=7, minutes=3)) == H


def test_aware_interval_is_converted_to_naive_utc() -> None:
    start = datetime(2026, 11, 1, 11, tzinfo=PLUS2)
    got = resolve_hour(None, start, start + HOUR, None)
    assert got == H
    assert got.tzinfo is None


@pytest.mark.parametrize("length", [timedelta(hours=2), timedelta(minutes=30), timedelta(days=1)])
def test_interval_that_is_not_one_hour_is_an_error(length: timedelta) -> None:
    with pytest.raises(WindowError, match="not one hour"):
        resolve_hour(None, H, H + length, run_after=H + timedelta(days=2))


def test_one_hour_interval_off_the_top_of_the_hour_is_an_error() -> None:
    start = H + timedelta(minutes=30)
    with pytest.raises(WindowError, match="top of an hour"):
        resolve_hour(None, start, start + HOUR, None)


def test_zero_length_interval_uses_run_after() -> None:
    # Manual runs in Airflow 3 may carry an interval of length zero at the trigger time.
    run_after = datetime(2026, 11, 1, 10, 42)
    assert resolve_hour(None, run_after, run_after, run_after) == H


@pytest.mark.parametrize(
    ("run_after", "expected"),
    [
        (datetime(2026, 11, 1, 10, 0), H),  # [09, 10) has just completed
        (datetime(2026, 11, 1, 10, 59, 59), H),  # [10, 11) is not complete yet
        (datetime(2026, 11, 1, 0, 5), datetime(2026, 10, 31, 23)),  # across midnight
        (datetime(2026, 11, 1, 12, 30, tzinfo=PLUS2), H),  # 10:30 UTC
    ],
)
def test_last_full_hour_before_run_after(run_after: datetime, expected: datetime) -> None:
    got = resolve_hour(None, None, None, run_after)
    assert got == expected
    assert got.tzinfo is None


def test_half_an_interval_is_ignored_in_favour_of_run_after() -> None:
    run_after = datetime(2026, 11, 1, 10, 30)
    assert resolve_hour(None, H, None, run_after) == H
    assert resolve_hour(None, None, H + HOUR, run_after) == H


def test_nothing_given_is_an_error() -> None:
    with pytest.raises(WindowError, match="cannot tell which hour"):
        resolve_hour(None, None, None, None)
    with pytest.raises(WindowError, match="cannot tell which hour"):
        resolve_hour("", H, H, None)


# ---------------------------------------------------------------------------------- resolve_mode
@pytest.mark.parametrize(
    "params",
    [{}, {"notify": True, "dry_run": False}, {"notify": True}, {"dry_run": False}],
)
@pytest.mark.parametrize("config_dry_run", [True, False])
@pytest.mark.parametrize("run_type", ["backfill", "BACKFILL", "DagRunType.BACKFILL"])
def test_backfill_never_notifies_and_is_always_dry(
    run_type: str, params: dict, config_dry_run: bool
) -> None:
    mode = resolve_mode(run_type, params, config_dry_run)
    assert mode == RunMode("backfill", notify=False, dry_run=True)
    assert mode.is_backfill


@pytest.mark.parametrize(
    "params", [{}, {"notify": False, "dry_run": True}, {"notify": False, "dry_run": False}]
)
@pytest.mark.parametrize("config_dry_run", [True, False])
def test_scheduled_notifies_and_follows_config_dry_run(params: dict, config_dry_run: bool) -> None:
    mode = resolve_mode("scheduled", params, config_dry_run)
    assert mode.notify is True
    assert mode.dry_run is config_dry_run
    assert mode.run_type == "scheduled"
    assert not mode.is_backfill


@pytest.mark.parametrize("config_dry_run", [True, False])
def test_manual_defaults_are_silent_and_dry(config_dry_run: bool) -> None:
    mode = resolve_mode("manual", {}, config_dry_run)
    assert mode == RunMode("manual", notify=False, dry_run=True)
    assert not mode.is_backfill


@pytest.mark.parametrize("notify", [True, False])
@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("config_dry_run", [True, False])
def test_manual_follows_its_params_not_the_config(
    notify: bool, dry_run: bool, config_dry_run: bool
) -> None:
    mode = resolve_mode("manual", {"notify": notify, "dry_run": dry_run}, config_dry_run)
    assert (mode.notify, mode.dry_run) == (notify, dry_run)


def test_run_type_enum_like_values_are_normalised() -> None:
    class FakeRunType:
        def __str__(self) -> str:
            return "DagRunType.SCHEDULED"

    assert resolve_mode(FakeRunType(), {}, False) == RunMode("scheduled", True, False)  # type: ignore[arg-type]
    assert resolve_mode("Manual", {"notify": True}, True).notify is True


# --- hours out of range (the probe's year 1, year 9999 and far-future runs) -----------------
@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00Z"]
)
def test_hours_outside_the_supported_range_are_a_clear_error(text: str) -> None:
    """Year 1 or 9999 gave an OverflowError traceback; now a WindowError that says why."""
    with pytest.raises(WindowError, match="out of range"):
        parse_hour(text)


def test_an_hour_that_has_not_ended_is_refused() -> None:
    """A far-future hour was accepted, wrote empty rows and emptied the detector cache."""
    now = datetime(2026, 11, 1, 9, 59)
    check_hour_ended(datetime(2026, 11, 1, 8), now)
    with pytest.raises(WindowError, match="has not ended"):
        check_hour_ended(datetime(2026, 11, 1, 9), now)
    with pytest.raises(WindowError, match="has not ended"):
        check_hour_ended(datetime(8999, 1, 1), now)


def test_the_cli_refuses_a_future_hour_without_touching_the_warehouse(tmp_path) -> None:
    from modelwatch.cli.main import main

    wh = tmp_path / "w.duckdb"
    code = main(["run", "--warehouse", f"duckdb:///{wh}", "--hour", "8999-01-01T00:00Z"])
    assert code == 2 and not wh.exists()
