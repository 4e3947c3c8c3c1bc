"""The ordinary life of a fleet, replayed hour by hour through the DAG's functions
(`pipeline.runner.run_local`, notify on, dry run): a deploy that moves latency for good and a
traffic step page, then re-baseline and resolve saying so; a retired model is retired once
and stops paging; a model added mid-day warms up, then is scored; a low-traffic model's quiet
minutes are valid data; an operator can accept a level as normal at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelwatch.config import Settings
from modelwatch.detection.tables import accept
from modelwatch.pipeline.replay import replay_warehouse
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import FleetSpec, simulate_fleet
from modelwatch.sim.life import LifeEvent
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse

H = timedelta(hours=1)
START = datetime(2026, 10, 30, 6)
DEPLOY, STEP = datetime(2026, 10, 30, 8), datetime(2026, 10, 30, 12)
RETIRE, ADDED = datetime(2026, 10, 30, 7), datetime(2026, 10, 30, 10)
HOURS = 32
EVENTS = (
    LifeEvent("deploy_shift", 7, DEPLOY, 1.8),
    LifeEvent("retire", 8, RETIRE),
    LifeEvent("add", 9, ADDED),
    LifeEvent("low_traffic", 10, datetime(2026, 10, 1), 0.03),
    LifeEvent("traffic_step", 11, STEP, 2.0),
)

#: Plots are drawn for every opened alert (about 1 s each) and nothing here looks at them.
NO_PLOTS = Settings.model_validate({"alerts": {"plots": False}})


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> dict[str, Any]:
    """32 hours of a 12-model fleet with the life events, through run_local (and the
    warehouse's URI, under "uri")."""
    fleet = simulate_fleet(FleetSpec(n_models=12, days=9, events=EVENTS))
    folder = tmp_path_factory.mktemp("fleet-life")
    spec = make_warehouse(f"duckdb:///{folder}/w.duckdb", fleet)
    settings, mode = NO_PLOTS, RunMode("scheduled", notify=True, dry_run=True)
    for i in range(HOURS):
        run_local(START + i * H, spec, settings, mode=mode, run_id=f"t__{i}")
    with open_warehouse(spec) as wh:
        return {"uri": f"duckdb:///{folder}/w.duckdb"} | {
            t: wh.query(f"SELECT * FROM {t}")
            for t in (
                "mw_notifications",
                "mw_alerts",
                "mw_scores",
                "mw_validation",
                "mw_baselines",
                "mw_retirements",
            )
        }


def pages(r: dict[str, pd.DataFrame], model: str) -> pd.DataFrame:
    n = r["mw_notifications"]
    own = n[(n["model_id"] == model) & n["event"].isin(["firing", "repeated"])]
    return own[own["state"] == "sent"].assign(hour=lambda f: pd.to_datetime(f["hour"]))


def resolved(r: dict[str, pd.DataFrame], model: str) -> pd.DataFrame:
    a = r["mw_alerts"]
    return a[(a["model_id"] == model) & a["resolved_hour"].notna()]


@pytest.mark.parametrize(("model", "at"), [("model-007", DEPLOY), ("model-011", STEP)])
def test_a_lasting_change_pages_then_becomes_the_new_normal(replayed, model, at) -> None:
    p = pages(replayed, model)
    assert len(p) >= 1, "a lasting change must page (a bad deploy is what rollback acts on)"
    assert p["hour"].max() <= at + 6 * H, "no page later than 6 h after the change"
    moved = replayed["mw_baselines"]
    moved = moved[moved["model_id"] == model]
    assert len(moved) == 1 and pd.Timestamp(moved["since"].iloc[0]) <= at + 2 * H
    alerts = replayed["mw_alerts"]
    alerts = alerts[alerts["model_id"] == model]
    assert alerts["resolved_hour"].notna().all(), "nothing left open"
    # an alert still open when the baseline moved resolves then, saying so (one that had
    # recovered before, as a traffic step's may when its score dips, stays as it was)
    at_move = pd.to_datetime(alerts["resolved_hour"]) == pd.Timestamp(moved["decided_hour"].iloc[0])
    assert alerts.loc[at_move, "summary"].str.contains("baseline moved").all()
    if model == "model-007":
        assert at_move.any()


def test_a_retired_model_is_retired_once_and_stops_paging(replayed) -> None:
    r = replayed["mw_retirements"]
    assert r["model_id"].tolist() == ["model-008"]
    retired_at = pd.Timestamp(r["hour"].iloc[0])
    assert retired_at == pd.Timestamp(RETIRE + 23 * H)  # its 24th silent hour
    p = pages(replayed, "model-008")
    assert len(p) >= 1 and p["hour"].max() < retired_at
    assert resolved(replayed, "model-008")["summary"].str.contains("retired").any()
    v = replayed["mw_validation"]
    assert not ((v["model_id"] == "model-008") & (pd.to_datetime(v["hour"]) > retired_at)).any()


def test_a_model_added_mid_day_warms_up_then_is_scored(replayed) -> None:
    s = replayed["mw_scores"]
    own = s[s["model_id"] == "model-009"].assign(hour=lambda f: pd.to_datetime(f["hour"]))
    by_hour = own.set_index("hour")["status"]
    assert by_hour[ADDED] == "insufficient_history"  # warming up
    assert by_hour[ADDED + 7 * H] == "scored"  # 6 h of history: scored, with a wide band
    assert len(pages(replayed, "model-009")) == 0


def test_quiet_minutes_are_valid_data(replayed) -> None:
    v = replayed["mw_validation"]
    own = v[v["model_id"] == "model-010"]
    assert len(own) == HOURS and (own["status"] == "passed").all()
    assert len(pages(replayed, "model-010")) == 0


def test_healthy_models_do_not_page(replayed) -> None:
    healthy = [f"model-{i:03d}" for i in range(7)]  # their incidents are on the last day
    assert sum(len(pages(replayed, m)) for m in healthy) == 0


def test_a_replay_of_the_warehouse_lives_the_same_fleet_life(replayed) -> None:
    """`modelwatch replay --warehouse` over the same hours gives the DAG's verdicts through
    the deploy, the traffic step, the retirement and the new model: it re-baselines from its
    own verdicts as the DAG's extract step did, warms the new model up on the rows of the day
    so far and leaves the retired model out: the replay runs the DAG's own steps."""
    verdicts = replay_warehouse(replayed["uri"], START, START + HOURS * H).scores
    got = verdicts.assign(hour=pd.to_datetime(verdicts["hour"])).set_index(["model_id", "hour"])
    dag = replayed["mw_scores"]
    want = dag.assign(hour=pd.to_datetime(dag["hour"])).set_index(["model_id", "hour"])
    got, want = got.sort_index(), want.sort_index()
    assert got.index.equals(want.index)
    assert (got["status"] == want["status"]).all()
    scored = want["status"] == "scored"
    np.testing.assert_array_equal(
        got.loc[scored, "score"].astype(float), want.loc[scored, "score"].astype(float)
    )
    assert (got["is_anomaly"].astype(bool) == want["is_anomaly"].astype(bool)).all()
    # the hours that make this more than the incident-day check: after the moves, warming up
    moved = replayed["mw_baselines"]
    after = [(r.model_id, pd.Timestamp(r.decided_hour)) for r in moved.itertuples()]
    assert len(after) == 2 and all(k in want.index for k in after)
    assert (want.loc["model-009", "status"] == "scored").any()


def test_an_operator_accepts_a_level_as_normal_at_once(tmp_path) -> None:
    fleet = simulate_fleet(
        FleetSpec(n_models=8, days=9, events=(LifeEvent("deploy_shift", 7, DEPLOY, 1.8),))
    )
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)
    settings, mode = NO_PLOTS, RunMode("scheduled", notify=True, dry_run=True)
    for i in range(5):
        run_local(DEPLOY - H + i * H, spec, settings, mode=mode, run_id=f"t__{i}")
    with open_warehouse(spec) as wh:
        move = accept(wh, "model-007", "alice", "v2 is slower by design", datetime(2026, 11, 2))
    assert move.decided_hour == DEPLOY + 4 * H and move.since == DEPLOY
    run_local(DEPLOY + 4 * H, spec, settings, mode=mode, run_id="t__accept")
    with open_warehouse(spec) as wh:
        alerts = wh.query("SELECT * FROM mw_alerts WHERE model_id = 'model-007'")
        stored = wh.query("SELECT * FROM mw_baselines")
    assert stored[["actor", "reason"]].values.tolist() == [["alice", "v2 is slower by design"]]
    assert (pd.to_datetime(alerts["resolved_hour"]) == pd.Timestamp(DEPLOY + 4 * H)).all()
    assert alerts["summary"].str.contains("accepted as normal by alice").all()
