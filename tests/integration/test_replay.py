"""A replay is a backfill into a scratch warehouse: the same scores and alerts, one code path.

Why: a study of detection, or "would we have caught last Tuesday's outage?", is only worth
something if it gives what the DAG would have recorded. `pipeline.replay` runs the hours
through the step table's runner (`pipeline.runner.run_hour`) on a private copy of the inputs;
this checks it against a backfill of the same hours on the warehouse itself, and that the
replay never writes to the warehouse it reads.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch.cli.main import main as cli_main
from modelwatch.config import Settings
from modelwatch.pipeline.replay import replay_frame, replay_warehouse
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse

#: From the previous day's last hour (another day's detectors) to the demo's incident hours.
HOURS = [DEMO_DAY + timedelta(hours=h) for h in range(-1, 12)]
BACKFILL = RunMode("backfill", notify=False, dry_run=True)


def tables(uri: str) -> dict[str, pd.DataFrame]:
    from modelwatch.warehouse import spec_from_uri

    with open_warehouse(spec_from_uri(uri)) as wh:
        return {t: wh.query(f"SELECT * FROM {t}") for t in wh.schema_tables("main")}


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, fleet):
    """Two copies of the test fleet's warehouse: one backfilled over HOURS, one untouched."""
    path = tmp_path_factory.mktemp("replay")
    done, fresh = f"duckdb:///{path}/done.duckdb", f"duckdb:///{path}/fresh.duckdb"
    spec = make_warehouse(done, fleet)
    make_warehouse(fresh, fleet)
    for hour in HOURS:
        run_local(hour, spec, Settings(), BACKFILL)
    with open_warehouse(spec) as wh:
        scores = wh.query("SELECT * FROM mw_scores")
        alerts = wh.query("SELECT * FROM mw_alerts")
    return fresh, scores, alerts


def keyed(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for c in ("hour", "opened_hour"):
        if c in out:
            out[c] = pd.to_datetime(out[c])
    return out.set_index(keys).sort_index()


def test_a_replay_gives_the_backfills_scores_and_alerts(backfilled) -> None:
    fresh, scores, alerts = backfilled
    before = tables(fresh)
    got = replay_warehouse(fresh, HOURS[0], HOURS[-1] + timedelta(hours=1))
    assert tables(fresh).keys() == before.keys()  # nothing written to what it reads
    want, mine = keyed(scores, ["model_id", "hour"]), keyed(got.scores, ["model_id", "hour"])
    assert mine.index.equals(want.index) and len(want) == 10 * len(HOURS)
    assert (mine["status"] == want["status"]).all()
    scored = want["status"] == "scored"
    np.testing.assert_array_equal(
        mine.loc[scored, "score"].astype(float), want.loc[scored, "score"].astype(float)
    )
    assert (mine["explanation"] == want["explanation"]).all()
    assert want["is_anomaly"].astype(bool).any()  # the incidents are there to be matched
    cols = ["kind", "severity", "status", "last_signal_hour", "resolved_hour", "summary"]
    want_a, mine_a = keyed(alerts, ["alert_id"]), keyed(got.alerts, ["alert_id"])
    assert len(want_a) >= 2 and mine_a.index.equals(want_a.index)
    pd.testing.assert_frame_equal(mine_a[cols], want_a[cols])
    # each metric row carries its hour's score; the detection is on the hour's last row
    rows = got.rows.assign(hour=got.rows["ts"].dt.floor("h"))
    per_hour = rows.groupby(["model_id", "hour"])
    assert (per_hour["score"].nunique() == 1).all()
    assert (per_hour["is_anomaly"].sum() == want["is_anomaly"].astype(int)).all()


def test_a_file_of_our_schema_replays_as_the_warehouse_does(backfilled, fleet) -> None:
    """The same rows from a file (history first): the same scores as the backfill."""
    _, scores, _ = backfilled
    day = HOURS[0].replace(hour=0)  # its detectors learn from the days before it began
    first, end = (
        day - timedelta(days=Settings().detection.history_days),
        HOURS[-1] + timedelta(hours=1),
    )
    m = fleet.metrics[(fleet.metrics["ts"] >= first) & (fleet.metrics["ts"] < end)]
    got = replay_frame(m.reset_index(drop=True), Settings(), start=HOURS[0])
    want, mine = keyed(scores, ["model_id", "hour"]), keyed(got.scores, ["model_id", "hour"])
    assert mine.index.equals(want.index)
    pd.testing.assert_series_equal(mine["score"], want["score"])
    assert len(got.rows) == int((m["ts"] >= HOURS[0]).sum())


def test_cli_replay_from_the_warehouse_writes_the_backfills_scores(backfilled, tmp_path) -> None:
    fresh, scores, _ = backfilled
    hour = HOURS[-3]
    out = tmp_path / "replay.parquet"
    args = ["replay", "--warehouse", fresh, "--out", str(out), "--quiet"]
    span = [
        "--start",
        f"{hour:%Y-%m-%dT%H:%MZ}",
        "--end",
        f"{hour + timedelta(hours=1):%Y-%m-%dT%H:%MZ}",
    ]
    assert cli_main([*args, *span]) == 0
    rows = pd.read_parquet(out)
    s = scores.assign(hour=pd.to_datetime(scores["hour"]))
    want = s[(s["hour"] == hour) & (s["status"] == "scored")].set_index("model_id")
    got = rows.groupby("model_id")["score"].first()
    assert len(want) >= 8
    np.testing.assert_array_equal(got.loc[want.index].to_numpy(), want["score"].astype(float))
