"""The command line's conventions, without a warehouse: one time-range convention with the old
flags as deprecated aliases, `-q` beside `-v`, and JSON that is plain and in UTC."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from modelwatch.cli.common import jsonable, records
from modelwatch.cli.main import build_parser
from modelwatch.cli.ranges import run_hours, show_progress, time_range
from modelwatch.run import WindowError, parse_hour

H = datetime(2026, 11, 1, 9)
HOUR = timedelta(hours=1)


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


@pytest.mark.parametrize(
    ("argv", "hours", "deprecated"),
    [
        (["--hour", "2026-11-01T09:00Z"], (H, H + HOUR), 1),
        (["--hour", "2026-11-01T09:00Z", "--until", "2026-11-01T11:00Z"], (H, H + 3 * HOUR), 2),
        (["--from", "2026-11-01T09:00Z"], (H, H + HOUR), 0),
        (["--from", "2026-11-01T09:00Z", "--to", "2026-11-01T11:00Z"], (H, H + 2 * HOUR), 0),
        (["--from", "2026-11-01T10:00+01:00", "--to", "2026-11-01T10:00Z"], (H, H + HOUR), 0),
    ],
)
def test_run_hours_old_and_new(argv, hours, deprecated) -> None:
    args = parse("run", *argv)
    assert run_hours(args, parse_hour) == hours
    assert len(getattr(args, "deprecations", None) or []) == deprecated


@pytest.mark.parametrize(
    "argv",
    [
        ["--from", "2026-11-01T09:00Z", "--to", "2026-11-01T09:00Z"],  # empty
        ["--from", "2026-11-01T09:00Z", "--to", "2026-11-01T08:00Z"],  # reversed
        ["--hour", "2026-11-01T09:00Z", "--until", "2026-11-01T07:00Z"],  # used to run nothing
        ["--hour", "2026-11-01T09:00Z", "--to", "2026-11-01T10:00Z"],  # both conventions
        ["--until", "2026-11-01T09:00Z"],
        ["--to", "2026-11-01T09:00Z"],
        [],
    ],
)
def test_bad_run_ranges_are_errors(argv) -> None:
    with pytest.raises(ValueError):
        run_hours(parse("run", *argv), parse_hour)


def test_start_and_end_are_from_and_to() -> None:
    args = parse(
        "replay", "--out", "o.parquet", "--start", "2026-11-01T09:00Z", "--end", "2026-11-01T12:00Z"
    )
    assert time_range(args, parse_hour) == (H, H + 3 * HOUR)
    assert [n.split()[0] for n in args.deprecations] == ["--start", "--end"]
    new = parse(
        "replay", "--out", "o.parquet", "--from", "2026-11-01T09:00Z", "--to", "2026-11-01T12:00Z"
    )
    assert time_range(new, parse_hour) == (H, H + 3 * HOUR) and not getattr(new, "deprecations", 0)
    with pytest.raises(WindowError, match="reversed"):
        time_range(
            parse("whatif", "--from", "2026-11-01T09:00Z", "--to", "2026-11-01T08:00Z"), parse_hour
        )


def test_quiet_is_top_level_and_the_old_quiet_is_no_progress() -> None:
    assert parse("-q", "alerts").quiet and not parse("alerts").quiet
    with pytest.raises(SystemExit):
        parse("-q", "-v", "alerts")
    old = parse("replay", "--out", "o.parquet", "--quiet")
    assert old.no_progress and not old.quiet and not show_progress(old)
    assert old.deprecations == [
        "--quiet is deprecated and goes in the next release: use --no-progress"
    ]
    assert not show_progress(parse("whatif", "--no-progress"))
    assert not show_progress(parse("-q", "whatif"))
    assert show_progress(parse("whatif"))


def test_json_values_are_plain_and_in_utc() -> None:
    frame = pd.DataFrame(
        {
            "hour": pd.to_datetime(["2026-11-01 09:00", None]),
            "score": [0.5, math.nan],
            "n": pd.array([3, None], dtype="Int64"),
        }
    )
    assert records(frame) == [
        {"hour": "2026-11-01T09:00:00Z", "score": 0.5, "n": 3},
        {"hour": None, "score": None, "n": None},
    ]
    assert records(frame.iloc[:0]) == []
    aware = datetime(2026, 11, 1, 10, tzinfo=UTC)
    local = pd.Timestamp("2026-11-01T11:00+01:00")
    assert jsonable({"a": aware, "b": local}) == {
        "a": "2026-11-01T10:00:00Z",
        "b": "2026-11-01T10:00:00Z",
    }
    json.dumps(jsonable({"x": frame["n"].iloc[0]}))  # numpy/pandas scalars serialise


def test_evaluate_json_is_one_document(one_spike, capsys) -> None:
    """A replay of one series with one spike, judged: the text's figures, as JSON."""
    from modelwatch.cli.main import main

    tmp_path = one_spike
    cfg, out = ["--config", str(tmp_path / "cfg.yaml")], str(tmp_path / "out.parquet")
    replay = ["replay", "--metrics", str(tmp_path / "in.csv"), "--out", out, "--jobs", "1"]
    assert main([*cfg, "-q", *replay]) == 0
    capsys.readouterr()
    judge = ["evaluate", "--scores", out, "--incidents", str(tmp_path / "inc.csv")]
    assert main([*cfg, *judge, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["recall"] == 1.0 and doc["report"] is None
    [incident] = doc["per_incident"]
    assert incident["model_id"] == "x" and incident["start"].endswith("Z")
    assert main([*cfg, *judge]) == 0
    assert "event recall         1.000" in capsys.readouterr().out
