"""The hourly log mining on real warehouses (DuckDB and PostgreSQL): an hour is mined once,
hours mined in any order give the same signatures and counts, bad rows are counted with a
reason and never fail the hour."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.config import LogsConfig, Settings
from modelwatch.logs.step import mine_hour
from modelwatch.sim.fleet import DEMO_DAY, simulate_fleet
from modelwatch.sim.seed import seed
from modelwatch.sim.story import StorySpec, tell_story
from modelwatch.warehouse import open_warehouse
from tests.conftest import TEST_FLEET

STORY = StorySpec(lines_per_hour=8.0, log_days=3)
MODELS = [f"model-{i:03d}" for i in range(10)]


@pytest.fixture(scope="module")
def story_fleet():
    fleet = simulate_fleet(TEST_FLEET)
    return fleet, tell_story(fleet, TEST_FLEET, STORY)


def seeded_with_logs(new_warehouse, story_fleet):
    fleet, story = story_fleet
    spec = new_warehouse()
    with open_warehouse(spec) as wh:
        seed(wh, fleet, story)
    return spec


def stored_counts(spec) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        got = wh.query("SELECT * FROM mw_log_counts ORDER BY hour, model_id, template_id, level")
    return got.reset_index(drop=True)


def test_hours_mined_in_any_order_give_the_same_counts(new_warehouse, story_fleet) -> None:
    hours = [DEMO_DAY + timedelta(hours=h) for h in (16, 17)]
    specs = [seeded_with_logs(new_warehouse, story_fleet) for _ in range(2)]
    for spec, order in zip(specs, (hours, hours[::-1]), strict=True):
        with open_warehouse(spec) as wh:
            for h in order:
                mine_hour(wh, Settings(), h, MODELS, "run")
    a, b = (stored_counts(s) for s in specs)
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)
    burst = a[(a["model_id"] == "model-002") & (a["hour"] == hours[1])]
    assert any("unexpected category" in t for t in burst["template"])


def test_a_mined_hour_is_never_mined_again(new_warehouse, story_fleet) -> None:
    spec = seeded_with_logs(new_warehouse, story_fleet)
    hour = DEMO_DAY + timedelta(hours=17)
    with open_warehouse(spec) as wh:
        first = mine_hour(wh, Settings(), hour, MODELS, "run-1")
        before = stored_counts(spec)
        late = pd.DataFrame(
            [
                {
                    "ts": hour + timedelta(minutes=5),
                    "model_id": "model-001",
                    "level": "ERROR",
                    "message": "late line that arrived after mining",
                    "logger": None,
                    "trace_id": None,
                }
            ]
        )
        wh.insert("model_logs", late)
        again = mine_hour(wh, Settings(), hour, MODELS, "run-2")
        marker = wh.query("SELECT run_id FROM mw_log_hours WHERE hour = :h", {"h": hour})
    assert first["mined_before"] is False and again["mined_before"] is True
    pd.testing.assert_frame_equal(stored_counts(spec), before)
    assert marker["run_id"].tolist() == ["run-1"]


def test_bad_rows_are_counted_and_skipped_with_a_reason(new_warehouse, story_fleet) -> None:
    spec = seeded_with_logs(new_warehouse, story_fleet)
    hour = DEMO_DAY + timedelta(hours=9)
    ts = hour + timedelta(minutes=1)
    bad = pd.DataFrame(
        [
            {"ts": ts, "model_id": "model-001", "level": "INFO", "message": None},
            {"ts": ts, "model_id": "model-001", "level": "INFO", "message": "y" * 9000},
            {"ts": ts, "model_id": "not-a-model", "level": "INFO", "message": "hi"},
            {"ts": ts, "model_id": None, "level": "INFO", "message": "whose?"},
        ]
    ).assign(logger=None, trace_id=None)
    with open_warehouse(spec) as wh:
        wh.insert("model_logs", bad)
        got = mine_hour(wh, Settings(), hour, MODELS, "run")
        rejects = wh.query(
            "SELECT model_id, reason, n FROM mw_log_rejects WHERE hour = :h", {"h": hour}
        )
    assert got["skipped"] == 3 and got["lines"] > 0  # the long line is mined on its head
    assert {(r.model_id, r.reason) for r in rejects.itertuples(index=False)} == {
        ("model-001", "null_message"),
        ("model-001", "truncated"),
        ("not-a-model", "unknown_model"),
        ("?", "null_model_id"),
    }


def test_without_a_log_table_the_hour_mines_nothing(new_warehouse) -> None:
    spec = new_warehouse()
    with open_warehouse(spec) as wh:
        got = mine_hour(wh, Settings(), DEMO_DAY, None, "run")
    assert got["lines"] == 0 and got["mined_before"] is False


def _hour_lines(hour, n: int = 6) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "ts": hour + timedelta(minutes=5 * i + 1),
                "model_id": "model-001",
                "level": "ERROR",
                "message": f"timeout calling feature-store-eu after {1000 + i} ms",
                "logger": "client",
                "trace_id": None,
            }
        )
    return pd.DataFrame(rows)


def test_a_timestamptz_log_column_is_mined_like_a_naive_one(new_warehouse) -> None:
    """PostgreSQL's usual type for log times (and DuckDB's TIMESTAMPTZ) used to raise TypeError
    in cleaning and fail the hour: the hour is mined, with the same counts as naive times."""
    hour = DEMO_DAY + timedelta(hours=9)
    got = []
    for kind in ("TIMESTAMP", "TIMESTAMPTZ"):
        spec = new_warehouse()
        with open_warehouse(spec) as wh:
            wh.execute(
                f"CREATE TABLE model_logs (ts {kind}, model_id VARCHAR, level VARCHAR, "
                "message VARCHAR, logger VARCHAR, trace_id VARCHAR)"
            )
            for r in _hour_lines(hour).itertuples(index=False):
                when = pd.Timestamp(r.ts)  # the same instants, written in another zone if aware
                if kind == "TIMESTAMPTZ":
                    when = when.tz_localize("UTC").tz_convert("Asia/Tokyo")
                wh.execute(
                    f"INSERT INTO model_logs VALUES (CAST(:ts AS {kind}), :m, :l, :msg, :lg, NULL)",
                    {
                        "ts": when.isoformat(),
                        "m": r.model_id,
                        "l": r.level,
                        "msg": r.message,
                        "lg": r.logger,
                    },
                )
            result = mine_hour(wh, Settings(), hour, None, "run")
            counts = wh.query("SELECT model_id, template, n, first_ts FROM mw_log_counts")
        assert result["lines"] == 6
        got.append(counts)
    pd.testing.assert_frame_equal(got[0], got[1])


def test_hostile_text_in_one_record_never_fails_the_hour(new_warehouse, tmp_path) -> None:
    """A lone surrogate in level, logger or trace_id used to fail the warehouse insert; ANSI
    escapes, NUL bytes and secrets reached the stored examples and templates."""
    hour = DEMO_DAY + timedelta(hours=9)
    ts = (hour + timedelta(minutes=3)).isoformat() + "Z"
    records = [
        {"ts": ts, "model_id": "m1", "level": "ERR\ud800", "message": "a one"},
        {"ts": ts, "model_id": "m1", "level": "INFO", "logger": "l\udfff", "message": "a two"},
        {"ts": ts, "model_id": "m1", "level": "INFO", "trace_id": "\ud800", "message": "a three"},
        {"ts": ts, "model_id": "m1", "level": "INFO", "message": "bad \ud800 message"},
        {
            "ts": ts,
            "model_id": "m1",
            "level": "WARN",
            "message": "\x1b[31mlogin\x1b[0m failed\x00 client_secret=s3cr3tValue "
            "Authorization: Bearer abcdefghijk",
        },
    ]
    path = tmp_path / f"logs-{hour.date()}.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    cfg = LogsConfig(source="jsonl", path=str(tmp_path / "logs-{date}.jsonl"))
    with open_warehouse(new_warehouse()) as wh:
        got = mine_hour(wh, Settings(logs=cfg), hour, None, "run")
        stored = wh.query("SELECT level, template, examples FROM mw_log_counts")
        rejects = wh.query("SELECT reason, n FROM mw_log_rejects")
    assert got["lines"] == 4 and got["skipped"] == 1
    assert rejects.to_dict("records") == [{"reason": "invalid_utf8", "n": 1}]
    text = " ".join(stored["template"]) + " ".join(stored["examples"]) + " ".join(stored["level"])
    for bad in ("\x1b", "\x00", "s3cr3tValue", "abcdefghijk", "\ud800"):
        assert bad not in text
    assert "login failed" in text
