"""The hourly DAG on a distributed Airflow: CeleryExecutor, Redis broker, two Celery workers.

A real deployment (api-server, scheduler, dag-processor, triggerer, and two `airflow celery
worker` processes on a queue of its own; Redis on 127.0.0.1:6379 as the broker, the PostgreSQL
metadata database as the result backend) runs model_health for a 400-model simulated fleet
in four detect shards of 100, whose warehouse is PostgreSQL. To keep the suite's time in budget
the fleet is small and the detectors train on one day of one-minute history, not seven
(`make bench-scale` times 1,000 models and more on seven days): what is under test is the
distribution (shards, workers, the detectors the first hour fits and the second loads), not
how much a fit reads.
Run it on its own with `make test-celery` (marker `celery`).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from modelwatch.sim.fleet import DEMO_DAY, FleetSpec, simulate_fleet
from modelwatch.warehouse import open_warehouse
from tests.conftest import PG_ADMIN_URI, make_warehouse, pg_database
from tests.deployment.airflow_harness import AirflowServer

pytestmark = pytest.mark.celery

DAG = "model_health"
N_MODELS = 400
SHARD_MAX = 100
HISTORY_DAYS = 1
REDIS_URL = os.environ.get("MODELWATCH_TEST_REDIS", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    """Skip without Redis, except in CI, where .ci/services.sh starts it."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"Redis at {REDIS_URL} is not reachable in CI") from exc
        pytest.skip(f"no Redis at {REDIS_URL}: {type(exc).__name__}")


@pytest.fixture(scope="module")
def celery_deployment(tmp_path_factory):
    require_redis()
    home = tmp_path_factory.mktemp("airflow-celery")
    config = home / "modelwatch.yaml"
    config.write_text(
        f"shard_max_models: {SHARD_MAX}\ndetection:\n  history_days: {HISTORY_DAYS}\n"
    )
    # the history before the incident day, and the day's hours up to 11:00
    days = HISTORY_DAYS + 1
    fleet = simulate_fleet(
        FleetSpec(n_models=N_MODELS, days=days, end=DEMO_DAY + timedelta(hours=11))
    )
    incident = fleet.incidents[fleet.incidents["kind"] == "latency_regression"].iloc[0]
    with pg_database() as wh_uri:
        spec = make_warehouse(wh_uri, fleet)
        fleet_incidents = fleet.incidents
        del fleet
        server = AirflowServer(
            home,
            PG_ADMIN_URI,
            {
                "MODELWATCH_STAGING_DIR": str(home / "stg"),
                "MODELWATCH_CONFIG": str(config),
                # only the runs under test: no scheduled run of the current hour beside them
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            },
            celery_workers=2,
            broker_url=REDIS_URL,
        )
        try:
            server.start()
            server.cli("pools", "set", "modelwatch_warehouse", "4", "warehouse (PostgreSQL)")
            server.cli("connections", "add", "modelwatch_warehouse", "--conn-uri", wh_uri)
            server.wait_for_dag(DAG)
            server.api("PATCH", f"/dags/{DAG}", json={"is_paused": False})
            server.spec = spec
            server.incident = incident
            server.incidents = fleet_incidents
            yield server
        finally:
            server.stop()


def run_hour(server: AirflowServer, hour) -> tuple[dict, list[dict]]:
    run = server.api(
        "POST",
        f"/dags/{DAG}/dagRuns",
        json={"logical_date": None, "conf": {"hour": hour.isoformat() + "Z"}},
    )
    run = server.wait_for_run(DAG, run["dag_run_id"], timeout=900)
    tis = server.api("GET", f"/dags/{DAG}/dagRuns/{run['dag_run_id']}/taskInstances")
    return run, tis["task_instances"]


def test_a_fleets_hour_runs_in_shards_on_two_celery_workers(celery_deployment):
    server = celery_deployment
    model = server.incident["model_id"]
    hours = [DEMO_DAY + timedelta(hours=2), DEMO_DAY + timedelta(hours=3)]
    assert server.incident["start"] <= hours[0] and server.incident["end"] > hours[1]
    history_rows = []
    # the day's first run fits the detectors, the next one loads them
    for hour in hours:
        run, tis = run_hour(server, hour)
        xcom = server.api(
            "GET",
            f"/dags/{DAG}/dagRuns/{run['dag_run_id']}/taskInstances/extract/xcomEntries/"
            "return_value",
            params={"deserialize": "true", "stringify": "false"},
        )
        history_rows.append(xcom["value"]["history_rows"])
        detect = [t for t in tis if t["task_id"] == "detect"]
        # task instances grow with shards, not models: 400 models are 4 shards of 100
        assert len(detect) == N_MODELS // SHARD_MAX and all(t["state"] == "success" for t in detect)
        others = [t for t in tis if t["task_id"] != "detect"]
        assert len(others) == len({t["task_id"] for t in others})  # every other task once
        with open_warehouse(server.spec) as wh:
            scores = wh.query("SELECT * FROM mw_scores WHERE hour = :h", {"h": hour})
            runs = wh.query("SELECT * FROM mw_runs WHERE hour = :h", {"h": hour})
        assert len(scores) == N_MODELS
        assert (scores["status"] == "scored").sum() >= N_MODELS - 5
        # the latency regression after a deploy is found on both hours
        flagged = set(scores.loc[scores["is_anomaly"].astype(bool), "model_id"])
        assert model in flagged
        # and the healthy fleet stays quiet: few models flagged without an incident that hour
        inc = server.incidents
        troubled = set(inc.loc[(inc["start"] <= hour) & (inc["end"] > hour), "model_id"])
        assert len(flagged - troubled) < 0.01 * N_MODELS, sorted(flagged - troubled)
        assert runs["models_scored"].tolist() == [int((scores["status"] == "scored").sum())]
    # the second hour read the history of no model whose detector the first one fitted: only
    # of those it could not fit (a model quarantined at 02:00 for bad data, say)
    first, second = history_rows
    per_model = HISTORY_DAYS * 24 * 60
    assert first > 0.9 * N_MODELS * per_model
    assert second <= 5 * per_model
    # ... and both Celery workers took part, each with the task libraries preloaded
    received = server.worker_tasks()
    assert len(received) == 2 and all(n > 0 for n in received.values()), received
    for name in received:
        worker_log = server.log_tail(name, 10**8)
        assert "modelwatch: preloaded task libraries" in worker_log, name
        assert "could not preload" not in worker_log, name
