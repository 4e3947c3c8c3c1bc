"""Simulated predictions are opt-in and leave a seed's metric rows exactly as they were."""

from __future__ import annotations

import pandas as pd
import pytest

from modelwatch.sim.fleet import FleetSpec, simulate_fleet

SPEC = FleetSpec(n_models=8, days=3)


@pytest.fixture(scope="module")
def pair():
    plain = simulate_fleet(SPEC)
    rich = simulate_fleet(FleetSpec(n_models=8, days=3, predictions=120, labels=True))
    return plain, rich


def test_predictions_are_opt_in_and_change_no_metric_row(pair) -> None:
    plain, rich = pair
    assert plain.predictions is None
    pd.testing.assert_frame_equal(plain.metrics, rich.metrics)
    pd.testing.assert_frame_equal(plain.models, rich.models)
    # the only new ground truth is the shape-drift incident
    pd.testing.assert_frame_equal(plain.incidents, rich.incidents.iloc[: len(plain.incidents)])
    assert rich.incidents["kind"].iloc[-1] == "prediction_shape_drift"
    assert list(rich.predictions.columns) == ["ts", "model_id", "prediction", "label"]


def by_hour(fleet, model: str) -> pd.DataFrame:
    p = fleet.predictions[fleet.predictions["model_id"] == model]
    return p.groupby(p["ts"].dt.floor("h"))["prediction"].agg(["mean", "std", "count"])


def test_shape_drift_keeps_the_mean_and_widens_the_spread(pair) -> None:
    _, rich = pair
    inc = rich.incidents.iloc[-1]
    h = by_hour(rich, inc["model_id"])
    inside = h[(h.index >= inc["start"] + pd.Timedelta(hours=1)) & (h.index < inc["end"])]
    before = h[h.index < inc["start"] - pd.Timedelta(hours=12)]
    assert inside["std"].mean() > 1.7 * before["std"].mean()
    assert abs(inside["mean"].mean() - before["mean"].mean()) < 0.3 * before["std"].mean()


def test_predictions_follow_the_hour_of_day_and_stop_during_an_outage(pair) -> None:
    _, rich = pair
    h = by_hour(rich, "model-002")
    spread = h.groupby(h.index.hour)["std"].mean()
    assert spread.max() > 1.1 * spread.min()  # the traffic mix moves with the day
    outage = rich.incidents[rich.incidents["kind"] == "silent_outage"].iloc[0]
    p = rich.predictions
    during = p[
        (p.model_id == outage["model_id"]) & p.ts.between(outage["start"], outage["end"], "left")
    ]
    assert during.empty
    assert (by_hour(rich, "model-001")["count"] == 120).all()
