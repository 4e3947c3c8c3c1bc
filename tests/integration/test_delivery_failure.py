"""Paging that breaks is told: a receiver failing in two consecutive runs raises modelwatch's
own `delivery_failure` alert to the log (and the other receivers), with the reason; it
resolves at the receiver's first success, a rerun raises no second alert, and a run in which
every receiver failed fails its alert step. The receiver is a real loopback HTTP server."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from modelwatch.alerting.lifecycle import DELIVERY_FAILURE, MODELWATCH_ID
from modelwatch.alerting.step import DeliveryFailed, alert_hour
from modelwatch.config import ChannelConfig
from tests.conftest import make_run, make_warehouse
from tests.integration.alert_world import (
    FAIL,
    OK,
    SCHEDULED,
    H,
    hook_settings,
    receiver,
    run_alerts,
    table,
    write_hour,
)

HOOK = ChannelConfig(type="webhook", conn_id="mw_df_hook", timeout_s=1)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with receiver() as recv:
        spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
        conn = {"conn_type": "http", "host": f"{recv.url}/hook"}
        monkeypatch.setenv("AIRFLOW_CONN_MW_DF_HOOK", json.dumps(conn))
        monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(tmp_path / "reports"))
        write_hour(spec, H, {"m01"})
        for h in (1, 2):
            write_hour(spec, H + timedelta(hours=h))
        yield spec, hook_settings({"hook": HOOK}), recv


def own_alerts(spec) -> pd.DataFrame:
    return table(spec, "SELECT * FROM mw_alerts WHERE model_id = :m", m=MODELWATCH_ID)


def own_notes(spec) -> pd.DataFrame:
    return table(
        spec, "SELECT * FROM mw_notifications WHERE model_id = :m ORDER BY 1", m=MODELWATCH_ID
    )


def test_a_receiver_failing_twice_in_a_row_is_alerted_once_then_resolved(world) -> None:
    spec, settings, recv = world
    recv.then("/hook", FAIL, FAIL)
    first = run_alerts(spec, H, settings)
    assert "every receiver failed" in first["delivery_failed"]  # the alert task fails
    assert own_alerts(spec).empty  # one failed run is not yet an alert
    run_alerts(spec, H + timedelta(hours=1), settings)  # the owed page fails again
    (alert,) = own_alerts(spec).itertuples(index=False)
    assert (alert.kind, alert.status, alert.severity) == (DELIVERY_FAILURE, "firing", "critical")
    assert "hook failed in 2 consecutive runs: HTTP 500" in alert.summary
    notes = own_notes(spec)
    assert notes[["receiver", "state", "event"]].values.tolist() == [["log", "sent", "firing"]]
    before = (own_alerts(spec), own_notes(spec))
    recv.then("/hook", FAIL)
    run_alerts(spec, H + timedelta(hours=1), settings, run_id="rerun")  # the same hour again
    pd.testing.assert_frame_equal(own_alerts(spec), before[0])
    pd.testing.assert_frame_equal(own_notes(spec), before[1])
    recv.then("/hook", OK)
    assert "delivery_failed" not in run_alerts(spec, H + timedelta(hours=2), settings)
    (alert,) = own_alerts(spec).itertuples(index=False)
    assert alert.status == "resolved" and pd.Timestamp(alert.resolved_hour) == H + timedelta(
        hours=2
    )
    assert own_notes(spec)["event"].tolist() == ["firing", "resolved"]


def test_the_alert_step_fails_after_recording_when_nobody_was_told(world) -> None:
    spec, settings, recv = world
    recv.then("/hook", FAIL)
    with pytest.raises(DeliveryFailed, match=r"hook: HTTP 500"):
        alert_hour(make_run(H, spec, settings, SCHEDULED, None, "scheduled__09"))
    rows = table(spec, "SELECT state FROM mw_notifications WHERE model_id = 'm01'")
    assert rows["state"].tolist() == ["failed"]  # recorded, so the next run retries it
