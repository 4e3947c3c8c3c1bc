"""Hints end to end: the test fleet with its story (logs, changes, labels), hours run through
the pipeline's steps (`run_local`) on DuckDB; the error burst's alert carries its new log
signature first, in the stored hints, the log channel's message and the hour's report, and a
rerun of the hour rebuilds the same hints."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.alerting.channels.base import batch_text
from modelwatch.alerting.channels.slack import blocks
from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.cli.main import main as cli
from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.sim.fleet import DEMO_DAY, simulate_fleet
from modelwatch.sim.seed import seed
from modelwatch.sim.story import StorySpec, tell_story
from modelwatch.ui import report
from modelwatch.warehouse import open_warehouse, spec_from_uri
from tests.conftest import TEST_FLEET

BURST = "model-002:anomaly:20261101T17"


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    base = tmp_path_factory.mktemp("hints")
    fleet = simulate_fleet(TEST_FLEET)
    story = tell_story(fleet, TEST_FLEET, StorySpec(lines_per_hour=15.0, log_days=4))
    spec = spec_from_uri(f"duckdb:///{base}/w.duckdb")
    with open_warehouse(spec, migrate=True) as wh:
        seed(wh, fleet, story)
    settings = Settings(staging_dir=str(base / "staging"))
    for h in (16, 17):
        run_local(DEMO_DAY + timedelta(hours=h), spec, settings)
    return spec, settings, base


def hints_of(spec, hour) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query(
            "SELECT * FROM mw_hints WHERE hour = :h ORDER BY alert_id, rank", {"h": hour}
        )


def test_the_error_bursts_first_hint_is_its_new_signature(ran) -> None:
    spec, _, _ = ran
    got = hints_of(spec, DEMO_DAY + timedelta(hours=17))
    burst = got[got["alert_id"] == BURST]
    assert len(burst) >= 1 and burst["rank"].tolist() == list(range(1, len(burst) + 1))
    first = burst.iloc[0]
    ev = json.loads(first["evidence"])
    assert first["kind"] == "log_signature" and "unexpected category" in ev["template"]
    assert ev["status"] == "new" and ev["now"] > 10 and len(ev["examples"]) == 2


def test_a_rerun_rebuilds_the_same_hints(ran) -> None:
    spec, settings, _ = ran
    hour = DEMO_DAY + timedelta(hours=17)
    before = hints_of(spec, hour)
    run_local(hour, spec, settings)
    pd.testing.assert_frame_equal(hints_of(spec, hour), before)


def test_messages_and_the_report_show_the_top_hints_escaped(ran) -> None:
    spec, settings, base = ran
    hour = DEMO_DAY + timedelta(hours=17)
    with open_warehouse(spec) as wh:
        path = report.write_report_html(wh, settings, hour, base / "report")
    page = path.read_text()
    assert "unexpected category" in page and "log signature" in page
    e = AlertEvent(
        "a",
        "m<x>",
        "anomaly",
        "firing",
        "warning",
        hour,
        "s",
        hints=("new ERROR <b>&co", "two", "three", "four"),
    )
    assert "hint 3: three" in batch_text([e]) and "four" not in batch_text([e])
    text = blocks([e])[1]["text"]["text"]
    assert "&lt;b&gt;&amp;co" in text and "<b>" not in text


def test_evaluate_hints_prints_one_line(ran, capsys, monkeypatch) -> None:
    spec, _, _ = ran
    monkeypatch.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{spec.duckdb_path}")
    assert cli(["evaluate", "--hints"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("hints: top1=") and first.endswith("incidents")
