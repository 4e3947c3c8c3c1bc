"""An hour in which no model reports is recorded, not lost: every model is no_data, the FLEET
row says the whole fleet is missing, and the run reaches its summary (an mw_runs row)."""

from __future__ import annotations

import json
from datetime import timedelta

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


def empty_hour(spec, hour) -> None:
    with open_warehouse(spec) as wh:
        wh.execute(
            "DELETE FROM model_metrics WHERE ts >= :s AND ts < :e",
            {"s": hour, "e": hour + timedelta(hours=1)},
        )


def test_a_fleet_wide_empty_hour_is_recorded_with_a_fleet_no_data_row(seeded) -> None:
    empty_hour(seeded, at(10))
    summary = run_local(at(10), seeded, Settings())
    assert summary["models_no_data"] == 10 and summary["models_scored"] == 0
    assert summary["report"] is not None  # the hour's report was written, not logged away
    with open_warehouse(seeded) as wh:
        runs = wh.query("SELECT hour FROM mw_runs WHERE hour = :h", {"h": at(10)})
        v = wh.query(
            "SELECT model_id, status, n_rows, failed_checks FROM mw_validation WHERE hour = :h",
            {"h": at(10)},
        ).set_index("model_id")
        scores = wh.query("SELECT status FROM mw_scores WHERE hour = :h", {"h": at(10)})
    assert len(runs) == 1
    fleet = v.loc[schema.FLEET]
    assert fleet["status"] == "no_data" and fleet["n_rows"] == 0
    assert json.loads(fleet["failed_checks"]) == [
        {"check": "rows present for any model", "unexpected": 10}
    ]
    models = v.drop(index=schema.FLEET)
    assert len(models) == 10 and (models["status"] == "no_data").all()
    assert (scores["status"] == "no_data").all() and len(scores) == 10


def test_a_fleet_wide_empty_hour_opens_one_fleet_outage_not_one_per_model(seeded) -> None:
    empty_hour(seeded, at(10))
    run_local(at(10), seeded, Settings())
    with open_warehouse(seeded) as wh:
        alerts = wh.query(
            "SELECT model_id FROM mw_alerts WHERE kind = 'outage' AND opened_hour = :h",
            {"h": at(10)},
        )
    assert alerts["model_id"].tolist() == [schema.FLEET]
