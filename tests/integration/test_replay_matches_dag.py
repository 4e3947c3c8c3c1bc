"""`modelwatch replay --warehouse` gives the hourly DAG's verdicts, hour by hour.

Why: a backfill or a study of detection is only worth something if its scores are the ones the
DAG would have paged on; the replay runs the DAG's validation, training history, day detectors
and hour scores (evaluation/replay.py `replay_warehouse`), and this pins that it matches.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch.cli.main import main as cli_main
from modelwatch.evaluation.replay import replay_warehouse
from modelwatch.pipeline.local import run_hour
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse

#: The previous day's last hour (another day's detectors) and the incident hours of the demo.
DAG_HOURS = [DEMO_DAY - timedelta(hours=1), *(DEMO_DAY + timedelta(hours=h) for h in range(8, 12))]


@pytest.fixture(scope="module")
def dag_run(tmp_path_factory, fleet):
    """A DuckDB warehouse with the test fleet, and the DAG's hours run on it (run_hour)."""
    path = tmp_path_factory.mktemp("replay_dag")
    uri = f"duckdb:///{path}/wh.duckdb"
    spec = make_warehouse(uri, fleet)
    from modelwatch.config import Settings

    settings = Settings()
    for hour in DAG_HOURS:
        run_hour(hour, spec, settings)
    with open_warehouse(spec) as wh:
        scores = wh.query("SELECT * FROM mw_scores")
    scores["hour"] = pd.to_datetime(scores["hour"])
    return uri, settings, scores


def test_replay_gives_the_dags_score_for_every_model_and_hour(dag_run) -> None:
    uri, _, dag = dag_run
    rows, verdicts = replay_warehouse(uri, DAG_HOURS[0], DAG_HOURS[-1] + timedelta(hours=1))
    verdicts["hour"] = pd.to_datetime(verdicts["hour"])
    got = verdicts[verdicts["hour"].isin(DAG_HOURS)].set_index(["model_id", "hour"]).sort_index()
    want = dag.set_index(["model_id", "hour"]).sort_index()
    assert got.index.equals(want.index)
    assert (got["status"] == want["status"]).all()
    scored = want["status"] == "scored"
    assert scored.sum() >= 40  # 10 models x 5 hours, nearly all scored
    np.testing.assert_array_equal(
        got.loc[scored, "score"].astype(float), want.loc[scored, "score"].astype(float)
    )
    assert (got["is_anomaly"].astype(bool) == want["is_anomaly"].astype(bool)).all()
    assert want["is_anomaly"].astype(bool).any()  # the incidents are there to be matched
    assert (got["explanation"] == want["explanation"]).all()
    # the per-row output carries each hour's score on its rows, the detection on its last row
    rows["hour"] = rows["ts"].dt.floor("h")
    per_hour = rows[rows["hour"].isin(DAG_HOURS)].groupby(["model_id", "hour"])
    row_score = per_hour["score"].agg(["min", "max"])
    for key, verdict in want[scored].iterrows():
        assert row_score.loc[key, "min"] == row_score.loc[key, "max"] == verdict["score"]
    assert (per_hour["is_anomaly"].sum() == want["is_anomaly"].astype(int)).all()


def test_cli_replay_from_the_warehouse_writes_the_dags_scores(dag_run, tmp_path) -> None:
    uri, _, dag = dag_run
    hour = DAG_HOURS[1]
    out = tmp_path / "replay.parquet"
    args = ["replay", "--warehouse", uri, "--out", str(out), "--quiet"]
    assert (
        cli_main([*args, "--start", f"{hour:%Y-%m-%dT%H:%MZ}", "--end", f"{hour:%Y-%m-%dT}09:00Z"])
        == 0
    )
    rows = pd.read_parquet(out)
    want = dag[(dag["hour"] == hour) & (dag["status"] == "scored")].set_index("model_id")
    got = rows.groupby("model_id")["score"].first()
    np.testing.assert_array_equal(got.loc[want.index].to_numpy(), want["score"].astype(float))
