"""The three ways users run model_health, on a real Airflow: scheduled, backfill, manual rerun.

A real deployment (api-server, scheduler, dag-processor, triggerer; production's LocalExecutor,
`PreloadingLocalExecutor`; PostgreSQL metadata database) runs against a PostgreSQL warehouse
seeded with the simulated fleet. The tests act only through the `airflow` CLI and the REST API
v2, as users do. Run this suite on its own with `make test-airflow` (marker `airflow_server`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse, spec_from_uri
from tests.deployment.airflow_harness import wait_until
from tests.integration.test_pipeline import HEALTHY, assert_same, snapshot

pytestmark = pytest.mark.airflow_server

DAG = "model_health"


@pytest.fixture(scope="module")
def deployment(airflow_server):
    """The folder's Airflow deployment, with model_health unpaused (the scheduler starts no
    run, backfill or not, of a paused DAG)."""
    airflow_server.api("PATCH", f"/dags/{DAG}", json={"is_paused": False})
    yield airflow_server
    airflow_server.api("PATCH", f"/dags/{DAG}", json={"is_paused": True})


def demo_day(server) -> dict:
    """The output tables' rows of the incident day: the scheduler runs the live fleet's hour
    whenever an hour starts, which may be during a test, and those rows are not under test."""
    end = DEMO_DAY + timedelta(days=1)
    out = {}
    for table, frame in snapshot(server.spec).items():
        hour = frame["opened_hour" if table == "mw_alerts" else "hour"]
        out[table] = frame[hour.lt(end)].reset_index(drop=True)
    return out


def q(server, sql, **params):
    with open_warehouse(server.spec) as wh:
        return wh.query(sql, params)


def test_the_scheduled_hour_runs_and_succeeds(deployment):
    server = deployment

    def scheduled():
        runs = server.runs(DAG, run_type="scheduled")
        return runs[-1] if runs else None

    run = wait_until(scheduled, 120, "the scheduler to create the hourly run", every=2.0)
    run = server.wait_for_run(DAG, run["dag_run_id"], timeout=300)
    start = datetime.fromisoformat(run["data_interval_start"]).astimezone(UTC)
    assert datetime.fromisoformat(run["data_interval_end"]) - start == timedelta(hours=1)
    hour = start.replace(tzinfo=None)
    got = q(server, "SELECT models_scored FROM mw_runs WHERE hour = :h", h=hour)
    assert got["models_scored"].tolist() == [3]  # the live fleet's three models
    # the deployment's executor is production's: the task libraries were imported before the
    # workers forked, every one of them
    scheduler_log = server.log_tail("scheduler", 10**8)
    assert "modelwatch: preloaded task libraries" in scheduler_log
    assert "could not preload" not in scheduler_log


#: The backfilled hours: model-003's leak (a restart at 08) and the surge's start (a scale-up at
#: 09 that live would have to wait for approval), more runs than `--max-active-runs` lets run at
#: once. The whole day's hours through the same steps are
#: tests/integration/test_remediation_pipeline.py's;
#: what only a real scheduler shows is here: one backfill run per hour, each recorded, none acts.
BACKFILL_HOURS = range(8, 12)


def test_backfill_over_the_incident_morning_records_but_never_acts(deployment):
    server = deployment
    start, end = DEMO_DAY + timedelta(hours=8), DEMO_DAY + timedelta(hours=11)
    server.cli(
        "backfill",
        "create",
        "--dag-id",
        DAG,
        "--from-date",
        start.isoformat() + "+00:00",
        "--to-date",
        end.isoformat() + "+00:00",
        "--max-active-runs",
        "2",
    )
    n = len(BACKFILL_HOURS)

    def all_done():
        runs = server.runs(DAG, run_type="backfill")
        return (
            runs
            if len(runs) == n and all(r["state"] in ("success", "failed") for r in runs)
            else None
        )

    runs = wait_until(all_done, 600, f"{n} backfill runs to finish", every=2.0)
    assert sorted(r["state"] for r in runs) == ["success"] * n
    hours = q(
        server,
        "SELECT hour FROM mw_runs WHERE hour >= :a AND hour < :b ORDER BY hour",
        a=DEMO_DAY,
        b=DEMO_DAY + timedelta(days=1),
    )["hour"].tolist()
    assert hours == [DEMO_DAY + timedelta(hours=h) for h in BACKFILL_HOURS]

    day = {"a": DEMO_DAY, "b": DEMO_DAY + timedelta(days=1)}
    notes = q(server, "SELECT * FROM mw_notifications WHERE hour >= :a AND hour < :b", **day)
    assert len(notes) and (notes["state"] == "suppressed").all()
    assert notes["detail"].str.startswith("backfill").all()
    reqs = q(server, "SELECT * FROM mw_remediation_requests WHERE hour >= :a AND hour < :b", **day)
    assert (reqs["mode"] == "backfill").all()
    assert not reqs["status"].isin(["dispatched", "applied"]).any()
    surge = reqs[(reqs.model_id == "model-000") & (reqs.status == "proposed")]
    assert surge["action"].tolist()[:1] == ["scale_up"]  # what would have been done


def _trigger(server, conf):
    body = {"logical_date": None, "conf": conf}
    return server.api("POST", f"/dags/{DAG}/dagRuns", json=body)["dag_run_id"]


def test_the_resolve_task_creates_the_missing_warehouse_pool(deployment):
    """Without the pool no warehouse task is ever queued; `resolve` runs in `default_pool`
    and creates it through the REST API (airflow/pool.py), with 4 slots for PostgreSQL."""
    from modelwatch.airflow.pool import DESCRIPTION

    server = deployment
    pools = {p["name"] for p in server.api("GET", "/pools")["pools"]}
    if "modelwatch_warehouse" in pools:  # an earlier run's resolve (or another module) made it
        server.api("DELETE", "/pools/modelwatch_warehouse")
    hour = DEMO_DAY + timedelta(hours=10)
    run_id = _trigger(server, {"hour": hour.isoformat() + "Z", "models": HEALTHY[:1]})
    server.wait_for_run(DAG, run_id)  # its warehouse tasks ran: the pool was there in time
    pool = server.api("GET", "/pools/modelwatch_warehouse")
    assert (pool["slots"], pool["description"]) == (4, DESCRIPTION)
    assert "pool modelwatch_warehouse: created (4 slots)" in task_log(server, run_id, "resolve")


def test_the_connection_form_offers_duckdb(deployment):
    """What the UI's connection form asks the API server for: the installed package's provider
    info registers `duckdb` with its hook and form fields (airflow/provider.py)."""
    server = deployment
    r = httpx.get(
        f"{server.base_url}/ui/connections/hook_meta",
        headers={"Authorization": f"Bearer {server.token()}"},
        timeout=60,
    )
    r.raise_for_status()
    (duckdb,) = [h for h in r.json() if h["connection_type"] == "duckdb"]
    assert duckdb["hook_name"] == "DuckDB"
    assert duckdb["hook_class_name"] == "modelwatch.airflow.duckdb_hook.DuckDBHook"
    assert duckdb["standard_fields"]["host"]["title"] == "Database file"
    assert duckdb["standard_fields"]["password"]["hidden"] is True


def task_log(server, run_id: str, task_id: str) -> str:
    got = server.api("GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1")
    return json.dumps(got["content"])


def test_a_manual_rerun_reprocesses_only_its_models_and_changes_nothing(deployment):
    server = deployment
    before = demo_day(server)
    hour = DEMO_DAY + timedelta(hours=8)  # backfilled above; both models quiet then
    run_id = _trigger(
        server,
        {
            "hour": hour.isoformat() + "Z",
            "models": ["model-000", "model-001"],
            "dry_run": False,
            "notify": False,
        },
    )
    server.wait_for_run(DAG, run_id)
    xcom = server.api(
        "GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/extract/xcomEntries/return_value"
    )
    assert xcom["value"]["expected"] == ["model-000", "model-001"]
    assert_same(before, demo_day(server))


def test_clearing_a_task_failed_on_a_broken_connection_converges(deployment):
    server = deployment
    before = demo_day(server)
    good = spec_from_uri(server.wh_uri)
    broken = {
        "connection_id": "modelwatch_warehouse",
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": 1,
        "login": good.login,
        "schema": good.schema,
    }
    server.api("PATCH", "/connections/modelwatch_warehouse", json=broken)
    # an hour the backfill processed, for the healthy models (whose rows a rerun must leave
    # as they are; an all-model manual rerun re-records the surge's suppressed notifications)
    conf = {"hour": (DEMO_DAY + timedelta(hours=10)).isoformat() + "Z", "models": HEALTHY}
    run_id = _trigger(server, conf)
    # both tasks that read the warehouse fail on it: the extract and the logs (an enrichment,
    # which the run records as unavailable unless it too is cleared and runs again)
    readers = ("extract", "logs")
    wait_until(
        lambda: all(
            server.task_state(DAG, run_id, t) in ("up_for_retry", "failed") for t in readers
        ),
        180,
        "extract and logs to fail on the broken connection",
        every=1.0,
    )
    restored = {**broken, "port": 5432}
    server.api("PATCH", "/connections/modelwatch_warehouse", json=restored)
    server.api(
        "POST",
        f"/dags/{DAG}/clearTaskInstances",
        json={
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": list(readers),
            "include_downstream": True,
            "only_failed": False,
        },
    )
    server.wait_for_run(DAG, run_id, timeout=300)
    assert_same(before, demo_day(server))
