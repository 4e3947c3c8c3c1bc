"""Rows with a null model_id cannot be scored, but they are never dropped silently: the FLEET
row of mw_validation counts them under a failed check, in every kind of hour."""

from __future__ import annotations

import json
from datetime import timedelta

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse

HOUR = DEMO_DAY + timedelta(hours=10)


def fleet_row(spec) -> dict:
    with open_warehouse(spec) as wh:
        v = wh.query(
            "SELECT status, n_rows, failed_checks FROM mw_validation "
            "WHERE hour = :h AND model_id = :f",
            {"h": HOUR, "f": schema.FLEET},
        )
    assert len(v) == 1
    row = v.iloc[0].to_dict()
    row["failed_checks"] = {c["check"]: c["unexpected"] for c in json.loads(row["failed_checks"])}
    return row


def test_null_model_ids_are_counted_on_the_fleet_row(seeded) -> None:
    with open_warehouse(seeded) as wh:  # 5 of model-008's minutes lose their id
        wh.execute(
            "UPDATE model_metrics SET model_id = NULL WHERE model_id = 'model-008' "
            "AND ts >= :s AND ts < :e",
            {"s": HOUR, "e": HOUR + timedelta(minutes=5)},
        )
    summary = run_local(HOUR, seeded, Settings())
    fleet = fleet_row(seeded)
    assert fleet["status"] == "warning"
    assert fleet["failed_checks"] == {"model_id not null": 5}
    assert fleet["n_rows"] == 600  # every extracted row, the unattributable ones included
    assert summary["models_scored"] == 10  # model-008 keeps 55 minutes: complete enough


def test_an_hour_of_only_null_model_ids_is_a_fleet_outage_that_counts_them(seeded) -> None:
    with open_warehouse(seeded) as wh:
        wh.execute(
            "UPDATE model_metrics SET model_id = NULL WHERE ts >= :s AND ts < :e",
            {"s": HOUR, "e": HOUR + timedelta(hours=1)},
        )
    summary = run_local(HOUR, seeded, Settings())
    fleet = fleet_row(seeded)
    assert fleet["status"] == "no_data"
    assert fleet["failed_checks"] == {"model_id not null": 600, "rows present for any model": 10}
    assert summary["models_no_data"] == 10
