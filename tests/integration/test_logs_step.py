"""The hourly log mining on real warehouses (DuckDB and PostgreSQL): an hour is mined once,
hours mined in any order give the same signatures and counts, bad rows are counted with a
reason and never fail the hour."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.config import Settings
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
    assert got["skipped"] == 4 and got["lines"] > 0
    assert {(r.model_id, r.reason) for r in rejects.itertuples(index=False)} == {
        ("model-001", "null_message"),
        ("model-001", "huge_message"),
        ("not-a-model", "unknown_model"),
        ("?", "null_model_id"),
    }


def test_without_a_log_table_the_hour_mines_nothing(new_warehouse) -> None:
    spec = new_warehouse()
    with open_warehouse(spec) as wh:
        got = mine_hour(wh, Settings(), DEMO_DAY, None, "run")
    assert got["lines"] == 0 and got["mined_before"] is False
