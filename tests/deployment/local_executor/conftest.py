"""The LocalExecutor deployment that this folder's modules share (`airflow_server`)."""

from __future__ import annotations

import json

import pytest

from modelwatch.sim.fleet import FleetSpec, simulate_fleet
from modelwatch.warehouse import open_warehouse
from tests.conftest import PG_ADMIN_URI, make_warehouse, pg_database


@pytest.fixture(scope="package")
def airflow_server(tmp_path_factory, fleet):
    """One real Airflow deployment for this folder's modules (tests/deployment/airflow_harness.py),
    stopped when the folder's tests are done, not at the end of the session: its scheduler,
    api-server and dag-processor would otherwise take a share of the CPU from every later test
    on their worker.

    Its warehouse is a PostgreSQL database holding the test fleet's incident day and a small
    "live" fleet (ids `live-000`..) reporting until two hours past the fixture's hour; the
    connections are set through the Airflow CLI. The warehouse pool is not: the first run's
    `resolve` task creates it through the REST API, signing in with the connection
    `modelwatch_airflow_api`, as a deployment without `modelwatch init` does. Yields the
    `AirflowServer`, with `.spec` (the warehouse) and `.wh_uri` added.
    """
    from datetime import UTC, datetime, timedelta

    from tests.deployment.airflow_harness import AirflowServer

    home = tmp_path_factory.mktemp("airflow-real")
    now_hour = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    with pg_database() as wh_uri:
        spec = make_warehouse(wh_uri, fleet)
        # Rows up to two hours past the fixture's hour: whichever hour the scheduler runs (the
        # deployment may come up after the top of the next hour), its rows are there.
        live_end = now_hour + timedelta(hours=2)
        live = simulate_fleet(FleetSpec(n_models=3, days=8, end=live_end, seed=3)).metrics
        # ids of their own, so a live hour never touches an incident-day model's alerts
        live["model_id"] = live["model_id"].str.replace("model-", "live-", regex=False)
        with open_warehouse(spec) as wh:
            wh.insert("model_metrics", live)
        server = AirflowServer(home, PG_ADMIN_URI, {"MODELWATCH_STAGING_DIR": str(home / "stg")})
        try:
            server.start()
            api = {"conn_type": "http", "host": "127.0.0.1", "port": server.port}
            api |= {"login": "admin", "password": server.password}
            server.cli(
                "connections", "add", "modelwatch_airflow_api", "--conn-json", json.dumps(api)
            )
            server.cli("connections", "add", "modelwatch_warehouse", "--conn-uri", wh_uri)
            server.wait_for_dag("model_health")
            server.spec, server.wh_uri = spec, wh_uri
            yield server
        finally:
            server.stop()
