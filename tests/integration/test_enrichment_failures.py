"""A failing enrichment (logs, drift, hints) never keeps an hour's alerts from going out.

The hour runs on; the failure is recorded in `mw_runs` (one column per enrichment, NULL when
it ran), shown in the run's summary line and in every alert's hints section as "log hints
unavailable: <reason>" (masked, one line, at most 200 characters), and a rerun with the same
inputs writes the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.alerting.delivery import Delivery
from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.alerting.step import alert_hour
from modelwatch.config import Settings
from modelwatch.pipeline import steps
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run

NOTIFY = RunMode("manual", notify=True, dry_run=True)
#: A failure whose text carries a secret and a terminal escape, as a driver's error might.
HOSTILE = "log store down: password=hunter2 \x1b[31mred\x1b[0m\n" + "x" * 400


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


def boom(*args, **kwargs):
    raise RuntimeError(HOSTILE)


def runs(spec) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query("SELECT * FROM mw_runs ORDER BY hour")


def test_failed_log_mining_costs_the_hints_not_the_alerts(seeded, monkeypatch):
    monkeypatch.setattr(steps, "mine_hour", boom)
    for h in (8, 9):
        out = run_local(at(h), seeded, Settings(), NOTIFY)
    assert "unavailable: logs" in out["line"]
    row = runs(seeded).set_index("hour").loc[at(9)]
    why = row["logs_failure"]
    assert why.startswith("RuntimeError: log store down") and len(why) <= 200
    assert "hunter2" not in why and "\x1b" not in why and "\n" not in why
    assert pd.isna(row["drift_failure"]) and pd.isna(row["hints_failure"])
    with open_warehouse(seeded) as wh:
        alerts = wh.query("SELECT * FROM mw_alerts WHERE model_id = 'model-000'")
        sent = wh.query("SELECT * FROM mw_notifications WHERE hour = :h", {"h": at(9)})
    assert len(alerts) == 1 and (sent["state"] == "sent").any()
    before = runs(seeded)
    run_local(at(9), seeded, Settings(), NOTIFY)  # the same inputs again: the same rows
    pd.testing.assert_frame_equal(runs(seeded), before)


def test_failed_drift_keeps_route_and_alerts_running(seeded, monkeypatch):
    monkeypatch.setattr(steps, "write_drift_hour", boom)
    for h in (8, 9):
        run_local(at(h), seeded, Settings(), NOTIFY)
    row = runs(seeded).set_index("hour").loc[at(9)]
    assert row["drift_failure"].startswith("RuntimeError") and pd.isna(row["logs_failure"])
    with open_warehouse(seeded) as wh:
        assert len(wh.query("SELECT * FROM mw_alerts WHERE model_id = 'model-000'")) == 1


class Recorder:
    def __init__(self) -> None:
        self.events: list[AlertEvent] = []

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        self.events += list(events)
        return Delivery(True, "recorded")


@pytest.mark.parametrize("failed", ["logs", "hints"])
def test_every_alert_says_which_enrichment_is_missing(seeded, monkeypatch, failed):
    settings = Settings()
    for h in (8, 9):
        run_local(at(h), seeded, settings)  # the hour's verdicts, no notifications
    got = Recorder()
    failures = {}
    if failed == "logs":
        failures = {"logs": "RuntimeError: log store down"}
    else:
        monkeypatch.setattr("modelwatch.alerting.step.load_facts", boom)
    out = alert_hour(make_run(at(9), seeded, settings, NOTIFY), failures, lambda r: got)
    assert got.events, "the alerts went out"
    label = {"logs": "log hints unavailable: ", "hints": "hints unavailable: "}[failed]
    for e in got.events:
        notes = [h for h in e.hints if h.startswith(label)]
        assert len(notes) == 1 and "hunter2" not in notes[0], e.hints
    assert (out["hints_failure"] is None) == (failed == "logs")
