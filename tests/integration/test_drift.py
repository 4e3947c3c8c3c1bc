"""Prediction drift through the pipeline: the demo day's drift incidents open `drift` alerts,
nothing else does, reruns are idempotent, and a warehouse without predictions skips cleanly."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.drift import drift_findings
from modelwatch.pipeline import steps
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY, Fleet, FleetSpec, simulate_fleet
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run, make_warehouse

#: The test fleet with predictions (and labels): model-004's mean drifts from 06:00, model-007's
#: spread doubles from 13:00 with its mean unchanged.
DRIFT_FLEET = FleetSpec(n_models=10, days=9, predictions=240, labels=True)


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


@pytest.fixture(scope="module")
def drift_fleet() -> Fleet:
    return simulate_fleet(DRIFT_FLEET)


@pytest.fixture
def drift_wh(tmp_path, drift_fleet):
    return make_warehouse(f"duckdb:///{tmp_path}/drift.duckdb", drift_fleet)


def query(spec, sql: str, **params) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query(sql, params)


def test_demo_day_drift_incidents_open_drift_alerts_and_nothing_else(
    drift_wh, drift_fleet, settings
):
    incidents = drift_fleet.incidents[drift_fleet.incidents["kind"].str.contains("drift")]
    assert sorted(incidents["model_id"]) == ["model-004", "model-007"]
    for h in range(5, 17):
        run_local(at(h), drift_wh, settings)
    alerts = query(drift_wh, "SELECT * FROM mw_alerts WHERE kind = 'drift'")
    assert sorted(alerts["model_id"]) == ["model-004", "model-007"]
    for inc in incidents.itertuples(index=False):
        opened = pd.Timestamp(alerts.set_index("model_id").loc[inc.model_id, "opened_hour"])
        assert pd.Timestamp(inc.start) <= opened <= pd.Timestamp(inc.start) + timedelta(hours=3)
    # the shape change keeps the mean: only the drift tests see it, not the metric detector
    shape = query(
        drift_wh,
        "SELECT * FROM mw_alerts WHERE model_id = 'model-007' AND kind = 'anomaly'",
    )
    assert shape.empty
    # the labelled error of the drifting hours is worse than its reference's
    err = query(
        drift_wh,
        "SELECT * FROM mw_drift WHERE model_id = 'model-004' AND feature = 'label' AND hour = :h",
        h=at(10),
    )
    assert err["drifted"].astype(bool).all() and (err["statistic"] > err["baseline"]).all()


def test_drift_step_reruns_replace_their_rows_and_findings_are_exposed(drift_wh, settings):
    run = make_run(at(9), drift_wh, settings, RunMode("manual", False, True), None, "t1")
    first = steps.drift(run, {})
    before = query(drift_wh, "SELECT * FROM mw_drift ORDER BY model_id, feature, test")
    again = steps.drift(run, {})
    after = query(drift_wh, "SELECT * FROM mw_drift ORDER BY model_id, feature, test")
    assert first == again and "model-004" in first["drifted"]
    pd.testing.assert_frame_equal(before, after)
    with open_warehouse(drift_wh) as wh:
        found = drift_findings(wh, "model-004", at(9))
    assert found[0]["drifted"]  # drifted first
    assert any(f["drifted"] and f["feature"] == "prediction" for f in found)
    assert {f["test"] for f in found} >= {"psi", "ks", "wasserstein", "mae"}
    assert all(f["reference"].startswith("clean ") for f in found)


def test_a_pinned_reference_is_used_and_named(drift_wh, settings):
    pin = {"model-004": {"start": at(-72), "end": at(-48)}}
    cfg = type(settings).model_validate({"drift": {"pinned": pin}})
    run = make_run(at(3), drift_wh, cfg, RunMode("manual", False, True), ["model-004"], "t2")
    steps.drift(run, {})
    refs = query(drift_wh, "SELECT DISTINCT reference FROM mw_drift WHERE model_id = 'model-004'")
    assert refs["reference"].tolist() == ["pinned 2026-10-29T00..2026-10-30T00"]


def test_without_a_predictions_table_drift_is_skipped(seeded, settings):
    run = make_run(at(9), seeded, settings, RunMode("manual", False, True), None, "t3")
    got = steps.drift(run, {"validate": [["model-000", "model-004"]]})
    assert got["skipped"] and got["drifted"] == []
    assert query(seeded, "SELECT COUNT(*) AS n FROM mw_drift")["n"].iloc[0] == 0


@pytest.mark.parametrize(
    "change", [{"categorical_models": ["model-004"]}, {"output": "categorical"}], ids=str
)
def test_a_model_made_categorical_mid_day_rebuilds_its_references(drift_wh, settings, change):
    """The day's sketches were built for a continuous output; the setting changes at 10:00
    and the step tests the model as categorical against rebuilt sketches (no KeyError)."""
    mode = RunMode("manual", False, True)
    steps.drift(make_run(at(9), drift_wh, settings, mode, None, "t4"), {})
    cfg = type(settings).model_validate({"drift": change})
    steps.drift(make_run(at(10), drift_wh, cfg, mode, None, "t5"), {})
    sql = "SELECT DISTINCT test FROM mw_drift WHERE model_id = 'model-004' AND hour = :h"
    assert set(query(drift_wh, sql, h=at(10))["test"]) == {"psi", "cramers_v", "accuracy"}
    # and back: the next hour's continuous tests run on continuous sketches again
    steps.drift(make_run(at(11), drift_wh, settings, mode, None, "t6"), {})
    assert set(query(drift_wh, sql, h=at(11))["test"]) == {"psi", "ks", "wasserstein", "mae"}
