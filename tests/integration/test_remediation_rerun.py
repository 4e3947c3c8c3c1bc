"""Reruns of earlier hours never act twice: the guardrails see every request of the model,
whatever hour a rerun processes (later hours too, sent or in flight).

Driven through the outbox (remediate_hour, dispatch_due) on a DuckDB warehouse seeded with the
test fleet, whose model-003 leaks memory from 04:00 to 12:00 on the incident day (the restart
policy's signature); the hour's anomaly is a hand-written `mw_scores` row, so no detector runs.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelwatch.config import RemediationConfig, Settings
from modelwatch.detection.score import SCORE_COLUMNS
from modelwatch.remediation import outbox
from modelwatch.remediation.targets.base import DISPATCHED, Outcome
from modelwatch.remediation.targets.log import ALL_ACTIONS
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY, Fleet
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run, make_warehouse

LIVE = RunMode("manual", notify=False, dry_run=False)
LEAKING = ["model-003"]


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


class Recorder:
    """A target that records what it is asked to do."""

    name = "recorder"
    actions = ALL_ACTIONS

    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, request: dict[str, Any]) -> Outcome:
        self.applied.append(request["request_id"])
        return Outcome(DISPATCHED, "recorded")


@pytest.fixture
def spec(tmp_path: Path, fleet: Fleet):
    spec = make_warehouse(f"duckdb:///{tmp_path}/rerun.duckdb", fleet)
    rows = [
        {
            "hour": at(h),
            "model_id": "model-003",
            "status": "scored",
            "score": 0.99,
            "threshold": 0.95,
            "is_anomaly": True,
            "n_rows": 60,
            "n_train_rows": 10_000,
            "top_metrics": "memory_util",
            "explanation": "[]",
        }
        for h in (9, 11)
    ]
    with open_warehouse(spec) as wh:
        wh.insert("mw_scores", pd.DataFrame(rows, columns=SCORE_COLUMNS))
    return spec


@pytest.fixture
def settings() -> Settings:
    return Settings(remediation=RemediationConfig(dry_run=False))


def run(spec, settings: Settings, h: int, target: Recorder, attempt: int = 0) -> dict[str, Any]:
    """One live run of hour `h` as the DAG runs it: remediate, then dispatch."""
    run = make_run(at(h), spec, settings, LIVE, LEAKING, f"manual__{h}_{attempt}")
    with open_warehouse(spec) as wh:
        outbox.remediate_hour(run, wh, LEAKING)
        return outbox.dispatch_due(run, wh, LEAKING, lambda name: target)


def requests(spec) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query("SELECT * FROM mw_remediation_requests ORDER BY hour")


def test_a_live_rerun_of_an_earlier_hour_respects_a_later_restart(spec, settings):
    target = Recorder()
    assert run(spec, settings, 11, target)["sent"] == 1
    assert target.applied == ["model-003:20261101T11:restart"]
    # a live rerun of 09:00 afterwards: 11:00's restart is inside the 6 h restart cooldown
    assert run(spec, settings, 9, target)["sent"] == 0
    assert target.applied == ["model-003:20261101T11:restart"]
    rows = requests(spec)
    nine = rows[rows["hour"] == at(9)].iloc[0]
    assert nine["status"] == "skipped"
    assert nine["status_reason"] == "cooldown: restart at 2026-11-01 11:00 (dispatched), 6 h"


def test_reruns_in_any_order_and_any_number_give_one_restart(spec, settings):
    target = Recorder()
    for attempt, h in enumerate((11, 9, 9, 11, 9, 11, 9)):
        run(spec, settings, h, target, attempt)
    assert target.applied == ["model-003:20261101T11:restart"]
    rows = requests(spec)
    assert rows[["hour", "status"]].values.tolist() == [
        [at(9), "skipped"],
        [at(11), "dispatched"],
    ]
    with open_warehouse(spec) as wh:
        sent = wh.query("SELECT * FROM mw_remediation_events WHERE to_status = 'dispatched'")
    assert sent["request_id"].tolist() == ["model-003:20261101T11:restart"]
