"""End to end through Airflow: `dag.test()` runs model_health over hours of the incident day.

Every task runs for real in-process (Task SDK, XCom, dynamic mapping, branching) against a
seeded DuckDB warehouse reached through the `modelwatch_warehouse` connection.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import ROOT, make_warehouse
from tests.dags.conftest import dag_test
from tests.integration.test_pipeline import HEALTHY, assert_same, snapshot

pytestmark = pytest.mark.e2e


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


@pytest.fixture(scope="module")
def dag(tmp_path_factory, fleet, airflow_db):
    """A migrated Airflow metadata DB, a seeded warehouse, and the parsed DAG."""
    spec = make_warehouse(f"duckdb:///{tmp_path_factory.mktemp('e2e')}/warehouse.duckdb", fleet)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{spec.duckdb_path}")
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags"))
        assert not bag.import_errors
        the_dag = bag.dags["model_health"]
        the_dag.spec = spec  # handy for the tests
        yield the_dag


def run(dag, interval_start, conf=None):
    """One run as the scheduler would make it: the data interval ends an hour later."""
    dr = dag_test(dag, interval_start + timedelta(hours=1), conf)
    assert str(dr.state).endswith("success"), f"run for {interval_start} ended {dr.state}"
    return dr


def q(dag, sql, **params):
    with open_warehouse(dag.spec) as wh:
        return wh.query(sql, params)


@pytest.fixture(scope="module")
def incident_day(dag):
    from modelwatch.airflow.dagtest import dag_files_parsed_once

    with dag_files_parsed_once() as synced:  # as the demo runs its hours
        for h in (8, 9, 10, 11, 15, 20):
            run(dag, at(h))
    assert len(synced) == 1  # one bundle, written once for the six runs
    return dag


def test_saturated_model_alerts_and_gets_a_scale_up(incident_day):
    dag = incident_day
    scores = q(dag, "SELECT * FROM mw_scores WHERE model_id = 'model-000' ORDER BY hour")
    assert scores.set_index("hour").loc[[at(9), at(10), at(11)], "is_anomaly"].all()
    alerts = q(dag, "SELECT * FROM mw_alerts WHERE model_id = 'model-000'")
    assert alerts[["kind", "opened_hour"]].values.tolist() == [["anomaly", at(9)]]
    reqs = q(
        dag,
        "SELECT * FROM mw_remediation_requests WHERE status = 'proposed' AND action = 'scale_up'",
    )
    assert reqs[["model_id", "hour", "action"]].values.tolist() == [
        ["model-000", at(9), "scale_up"]
    ]
    assert int(reqs["to_replicas"].iloc[0]) > int(reqs["from_replicas"].iloc[0])


def test_healthy_models_stay_quiet(incident_day):
    dag = incident_day
    assert q(dag, "SELECT * FROM mw_alerts WHERE model_id IN :m", m=HEALTHY).empty
    assert q(dag, "SELECT * FROM mw_remediation_requests WHERE model_id IN :m", m=HEALTHY).empty


def test_bad_data_model_is_quarantined_and_outage_alerted(incident_day):
    dag = incident_day
    v = q(
        dag,
        "SELECT model_id, hour, status FROM mw_validation WHERE status <> 'passed' "
        "AND model_id <> '__fleet__' ORDER BY hour",
    )
    assert v.values.tolist() == [
        ["model-006", at(15), "quarantined"],
        ["model-005", at(20), "no_data"],
    ]
    kinds = q(dag, "SELECT model_id, kind FROM mw_alerts WHERE kind <> 'anomaly' ORDER BY 1")
    # and the 15:00 rows with a null model id, which no model owns (issue 14: they used to be
    # dropped without an alert)
    assert kinds.values.tolist() == [
        ["__fleet__", "data_quality"],
        ["model-005", "outage"],
        ["model-006", "data_quality"],
    ]


def test_summary_rows_match_the_tables(incident_day):
    dag = incident_day
    runs = q(dag, "SELECT * FROM mw_runs ORDER BY hour")
    assert runs["hour"].tolist() == [at(h) for h in (8, 9, 10, 11, 15, 20)]
    r15 = runs.set_index("hour").loc[at(15)]
    assert (r15["models_quarantined"], r15["models_scored"]) == (1, 9)
    assert runs.set_index("hour").loc[at(9), "scaling_requests"] == 1


def test_reruns_by_schedule_and_by_hand_leave_identical_rows(incident_day):
    dag = incident_day
    before = snapshot(dag.spec)
    run(dag, at(10))  # the scheduled hour again
    run(dag, at(15))
    # an operator's manual rerun of one hour for two models, through the params
    run(dag, at(23), {"hour": at(9).isoformat() + "Z", "models": ["model-000", "model-007"]})
    assert_same(before, snapshot(dag.spec))
    assert os.environ.get("AIRFLOW_CONN_MODELWATCH_WAREHOUSE")  # still pointed at the test DB


def test_a_failed_enrichment_task_leaves_the_hours_alerts_running(dag, monkeypatch):
    """The logs task fails (after no retry here, to skip the retry delay): alert still runs,
    the run succeeds, and the hour's summary says why its log hints are missing."""
    from modelwatch.pipeline import steps

    def down(*args, **kwargs):
        raise RuntimeError("log store down")

    monkeypatch.setattr(steps, "mine_hour", down)
    monkeypatch.setattr(dag.get_task("logs"), "retries", 0)
    dr = run(dag, at(12), {"hour": at(12).isoformat() + "Z", "notify": True})
    states = {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}
    assert states["logs"].endswith("failed") and states["alert"].endswith("success")
    row = q(dag, "SELECT * FROM mw_runs WHERE hour = :h", h=at(12)).iloc[0]
    assert row["logs_failure"] == "RuntimeError: log store down"
