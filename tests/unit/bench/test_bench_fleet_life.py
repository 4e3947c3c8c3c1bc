"""bench/bench_fleet_life.py on a tiny fleet: one hour replayed by this checkout in a child
process, and the table of pages it prints."""

from __future__ import annotations

import pytest

from tests.unit.bench.scripts import load


def test_one_hour_of_this_checkout(tmp_path, capsys) -> None:
    bench = load("bench_fleet_life")
    bench.main(["--models", "19", "--days", "1", "--hours", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "seed 7, 19 models, 1 hours" in out
    header = next(line for line in out.splitlines() if line.startswith("| scenario"))
    assert "after pages" in header and "before pages" not in header
    for scenario in ("deploy_shift x1.8", "retire", "low_traffic", "extra_metric"):
        assert f"| {scenario} " in out
    assert "healthy (3 models) pages/model-day (after)" in out  # 19 - 9 events - 7 incidents
    assert "| incident bad_data " in out
    assert (tmp_path / "after-seed7" / "pages.csv").is_file()


def test_a_fleet_without_room_for_the_life_events_is_refused(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        load("bench_fleet_life").main(["--models", "10", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "at least 19" in capsys.readouterr().err
