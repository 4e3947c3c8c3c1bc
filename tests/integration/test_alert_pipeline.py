"""The alert step on hand-written verdicts: a fleet-wide hour becomes one fleet incident, an
outage inhibits the same model's latency page, a silence holds an alert back, and a partial
rerun leaves the fleet incident alone. Uses the `log` channel; the real ones are tested with
real servers in test_alert_incident.py."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from modelwatch.alerting.lifecycle import FLEET_ID
from modelwatch.alerting.silence_table import add_silence
from modelwatch.alerting.step import alert_hour
from modelwatch.config import Settings
from modelwatch.run import RunMode
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run, make_warehouse
from tests.integration.alert_world import MODELS, H, write_hour


def run(spec, hour: datetime, models=None):
    mode = RunMode("scheduled", notify=True, dry_run=True)
    return alert_hour(make_run(hour, spec, Settings(), mode, models, f"scheduled__{hour:%H}"))


def ledger(spec) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query("SELECT * FROM mw_notifications ORDER BY hour, alert_id")


def test_fleet_wide_hour_is_one_incident_not_a_page_per_model(tmp_path) -> None:
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    write_hour(spec, H, set(MODELS[:6]))
    got = run(spec, H)
    notes = ledger(spec)
    sent = notes[notes["state"] == "sent"]
    assert sent[["model_id", "event"]].values.tolist() == [[FLEET_ID, "firing"]]
    grouped = notes[notes["model_id"] != FLEET_ID]
    assert len(grouped) == 6 and (grouped["state"] == "suppressed").all()
    assert grouped["detail"].str.startswith(f"grouped into fleet incident {FLEET_ID}:fleet:").all()
    assert got["sent"] == 1 and got["suppressed"] == 6
    with open_warehouse(spec) as wh:
        fleet = wh.query("SELECT * FROM mw_alerts WHERE kind = 'fleet'")
    assert fleet[["model_id", "severity", "status"]].values.tolist() == [
        [FLEET_ID, "critical", "firing"]
    ]
    assert "6 of 10 scored models" in fleet["summary"].iloc[0]

    # a partial rerun of two models neither rewrites nor drops the fleet incident's rows
    run(spec, H, models=["m00", "m07"])
    pd.testing.assert_frame_equal(ledger(spec), notes)

    # below the share the next hours are quiet; the incident resolves once, by itself
    for i in (1, 2):
        write_hour(spec, H + timedelta(hours=i), set(MODELS[:2]))
        run(spec, H + timedelta(hours=i))
    fleet_rows = ledger(spec)
    fleet_rows = fleet_rows[fleet_rows["model_id"] == FLEET_ID]
    assert fleet_rows[["event", "state"]].values.tolist() == [
        ["firing", "sent"],
        ["resolved", "sent"],
    ]


def test_outage_inhibits_latency_page_and_silence_holds_back(tmp_path) -> None:
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    write_hour(spec, H, {"m01", "m02"}, no_data={"m01"})
    with open_warehouse(spec) as wh:
        sid = add_silence(wh, {"model_id": "m02"}, H, H + timedelta(hours=2), "alice", "retrain", H)
    run(spec, H)
    notes = ledger(spec).set_index("alert_id")
    assert notes.loc["m01:outage:20261101T09", "state"] == "sent"
    assert notes.loc["m01:anomaly:20261101T09", "state"] == "suppressed"
    assert notes.loc["m01:anomaly:20261101T09", "detail"] == "inhibited by m01:outage:20261101T09"
    assert notes.loc["m02:anomaly:20261101T09", "detail"] == f"silenced by {sid} (alice: retrain)"
