"""model_health through Airflow with staging, the detector cache and the reports on a store.

Inside a task the store's connection is read through the Task SDK, as on a worker of a
multi-machine deployment; the store is a real SFTP server in a process of its own
(`tests/integration/sftp_store.py`). The same hours through `dag.test()` on a local folder and on
the store record the same tables.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest

from modelwatch.folders import REPORT_ENV, STAGING_ENV
from modelwatch.sim.fleet import DEMO_DAY
from tests.conftest import ROOT, make_warehouse
from tests.dags.conftest import dag_test
from tests.integration.sftp_store import sftp_store
from tests.integration.test_object_storage import layout
from tests.integration.test_pipeline import assert_same, snapshot

pytest.importorskip("sshfs", reason="the SFTP store needs apache-airflow-providers-sftp[sshfs]")
pytestmark = pytest.mark.e2e
logging.getLogger("asyncssh").setLevel(logging.WARNING)

#: The surge's first hour: detectors fitted, an alert opened, a plot drawn into the report.
HOURS = [DEMO_DAY + timedelta(hours=9)]


@pytest.fixture
def model_health(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors
    return bag.dags["model_health"]


def run_hours(dag, spec, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{spec.duckdb_path}")
    for hour in HOURS:
        dr = dag_test(dag, hour + timedelta(hours=1))
        assert str(dr.state).endswith("success"), f"run for {hour} ended {dr.state}"


def test_hours_through_airflow_on_an_sftp_store_record_what_a_local_folder_does(
    model_health, fleet, tmp_path, monkeypatch
):
    local = make_warehouse(f"duckdb:///{tmp_path}/local.duckdb", fleet)
    monkeypatch.setenv(STAGING_ENV, str(tmp_path / "local" / "staging"))
    monkeypatch.delenv(REPORT_ENV, raising=False)
    run_hours(model_health, local, monkeypatch)

    with sftp_store(tmp_path / "served") as served:
        conn = f"files_{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn.upper()}", served.connection())
        monkeypatch.setenv(STAGING_ENV, f"sftp://{conn}@/modelwatch/staging")
        monkeypatch.setenv(REPORT_ENV, f"sftp://{conn}@/modelwatch/reports")
        remote = make_warehouse(f"duckdb:///{tmp_path}/remote.duckdb", fleet)
        run_hours(model_health, remote, monkeypatch)

    assert_same(snapshot(local), snapshot(remote))
    on_store = layout(served.root / "modelwatch")
    assert on_store == layout(tmp_path / "local")
    assert "reports/20261101T09/report.html" in on_store
    assert any(n.startswith("staging/_detectors/*/") for n in on_store)
