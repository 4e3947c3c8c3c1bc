"""The remediation branch of model_health, run through Airflow with `dag.test()`.

Live manual runs of the saturation hour with an auto-approval limit the scale-up fits in: the
`needs_approval` branch skips `approve` and goes straight to `dispatch`, which sends the request
once; three reruns send nothing more. Every task runs for real in-process (Task SDK, XCom,
branching, trigger rules) against a seeded DuckDB warehouse. The path through the approval task
needs an answer from outside the run:
tests/deployment/local_executor/test_remediation_approval.py gives it through the REST API of a
real deployment.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import yaml

from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import ROOT, make_warehouse
from tests.dags.conftest import dag_test

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live_dag(tmp_path_factory, fleet, airflow_db):
    """The parsed DAG, a seeded warehouse, and a config whose auto-approval limit is wide."""
    tmp = tmp_path_factory.mktemp("remediation-dag")
    spec = make_warehouse(f"duckdb:///{tmp}/warehouse.duckdb", fleet)
    config = tmp / "modelwatch.yaml"
    config.write_text(
        yaml.safe_dump(
            {"remediation": {"approval": {"max_auto_step": 10, "max_auto_step_percent": 500}}}
        )
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{spec.duckdb_path}")
        mp.setenv("MODELWATCH_CONFIG", str(config))
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags"))
        assert not bag.import_errors
        the_dag = bag.dags["model_health"]
        the_dag.spec = spec
        yield the_dag


def task_states(dr) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dr.get_task_instances()}


def run_live(dag, n: int):
    """A manual live rerun of 09:00 for model-000 (logical dates differ so run ids do)."""
    when = (DEMO_DAY + timedelta(days=2, hours=n)).replace(tzinfo=UTC)
    conf = {"hour": f"{DEMO_DAY:%Y-%m-%d}T09:00:00Z", "models": ["model-000"], "dry_run": False}
    dr = dag_test(dag, when, conf)
    assert str(dr.state).endswith("success"), task_states(dr)
    return dr


def rows(dag, table: str):
    with open_warehouse(dag.spec) as wh:
        return wh.query(f"SELECT * FROM {table} WHERE model_id = 'model-000' ORDER BY 1")


def test_a_small_enough_step_skips_approval_and_is_sent_once(live_dag):
    dr = run_live(live_dag, 0)
    states = task_states(dr)
    assert states["needs_approval"].endswith("success")
    assert states["approve"].endswith("skipped") and states["record_approval"].endswith("skipped")
    assert states["dispatch"].endswith("success") and states["summary"].endswith("success")
    (req,) = rows(live_dag, "mw_remediation_requests").to_dict("records")
    assert (req["status"], req["decided_by"], req["target"], req["attempts"]) == (
        "dispatched",
        "policy",
        "log",
        1,
    )
    assert (req["from_replicas"], req["to_replicas"]) == (5, 13)
    events = rows(live_dag, "mw_remediation_events")
    assert events["to_status"].tolist() == ["approved", "dispatched"]
    for n in (1, 2, 3):
        run_live(live_dag, n)
    (again,) = rows(live_dag, "mw_remediation_requests").to_dict("records")
    assert (again["status"], again["attempts"]) == ("dispatched", 1)
    assert (
        rows(live_dag, "mw_remediation_events")["event_id"].tolist() == events["event_id"].tolist()
    )
