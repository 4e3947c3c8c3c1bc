"""A large remediation action waits for an operator, who answers through Airflow's REST API.

On a real Airflow 3 deployment (the `airflow_server` fixture: api-server, scheduler,
dag-processor, triggerer on loopback), a manual live run of the saturation hour proposes scaling
model-000 from 5 to 13 replicas: a step above the auto-approval limit. The run parks its
`approve` task (the standard provider's HITLOperator) in `awaiting_input`; the test reads the
request through `GET .../hitlDetails` and answers with `PATCH .../hitlDetails`, as the
Required Actions page does. Approved, the request is dispatched once, and three reruns of the
hour dispatch nothing more and ask nothing more; rejected (a rollback of model-002), nothing is
sent. Everything goes through the REST API and the `airflow` CLI, as users do.

The folder's `airflow_server` fixture (its conftest.py) is used through three handles only:
`base_url`, `token()` (a bearer token for the REST API) and `env` (the deployment's environment,
for the `airflow` CLI). Run with `-m airflow_server` (`make test-airflow`).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse, pg_database

pytestmark = pytest.mark.airflow_server

DAG = "model_health"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def wait_for(check: Callable[[], Any], what: str, timeout: float = 300) -> Any:
    """Poll a condition (no sleep stands in for it); fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


class Api:
    """The REST API v2 and the CLI of the deployment, through the fixture's three handles."""

    def __init__(self, server: Any) -> None:
        self.base_url, self.env, self._token = server.base_url, server.env, server.token
        self.reasked = 0  # how often Airflow asked again after an answer (see `asked`)

    def call(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        r = httpx.request(
            method,
            f"{self.base_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self._token()}"},
            timeout=60,
            **kw,
        )
        assert r.status_code in ok, f"{method} {path} -> {r.status_code}: {r.text[:2000]}"
        return r.json() if r.content else None

    def cli(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        if check and done.returncode:
            raise AssertionError(f"airflow {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout

    def trigger(self, conf: dict[str, Any]) -> str:
        run = self.call("POST", f"/dags/{DAG}/dagRuns", json={"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def ti(self, run_id: str, task_id: str) -> dict[str, Any]:
        return self.call("GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/{task_id}")

    def finished(self, run_id: str, re_ask: Callable[[], None] | None = None) -> dict[str, Any]:
        def ended() -> dict[str, Any] | None:
            run = self.call("GET", f"/dags/{DAG}/dagRuns/{run_id}")
            if (
                re_ask
                and run["state"] == "running"
                and (self.ti(run_id, "approve")["state"] == "awaiting_input")
            ):
                re_ask()
            return run if run["state"] in ("success", "failed") else None

        run = wait_for(ended, f"run {run_id} to finish")
        tis = self.call("GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances")["task_instances"]
        states = {t["task_id"]: t["state"] for t in tis}
        assert run["state"] == "success", states
        return states

    def hitl(self, run_id: str) -> str:
        return f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails"

    def asked(self, run_id: str) -> dict[str, Any]:
        """Wait until the approval is parked and the scheduler has gone round once since.

        Airflow 3.3.2 loses an answer given before the scheduler has handled the parked
        workload's executor event (it sees the resumed task "queued", calls that a state changed
        externally, and retries the task, which asks again). An operator never answers within
        that second; a test can, so it waits for a scheduler heartbeat after the request.
        """
        wait_for(lambda: self.ti(run_id, "approve")["state"] == "awaiting_input", "the approval")
        detail = self.call("GET", self.hitl(run_id))
        created = detail["created_at"]

        def scheduler_went_round() -> bool:
            r = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=10)
            beat = (r.json().get("scheduler") or {}).get("latest_scheduler_heartbeat") or ""
            return _instant(beat) > _instant(created)

        wait_for(scheduler_went_round, "a scheduler heartbeat after the approval request")
        return detail

    def answer(self, run_id: str, option: str) -> dict[str, Any]:
        """Answer, then wait for the run to end; answer again if Airflow re-asked anyway."""
        self.call("PATCH", self.hitl(run_id), json={"chosen_options": [option]})
        states = self.finished(run_id, re_ask=lambda: self.answer_again(run_id, option))
        return states

    def answer_again(self, run_id: str, option: str) -> None:
        detail = self.call("GET", self.hitl(run_id))
        if not detail["response_received"]:
            self.reasked += 1
            self.asked(run_id)
            self.call("PATCH", self.hitl(run_id), json={"chosen_options": [option]})


def _instant(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def deployment(airflow_server, fleet) -> Iterator[tuple[Api, Any]]:
    """A warehouse of its own (the incident day, PostgreSQL) for this module, wired in through
    the CLI; the deployment's own warehouse connection is put back afterwards, so the live
    requests made here never meet the session's other tests."""
    api = Api(airflow_server)
    with pg_database() as wh_uri:
        spec = make_warehouse(wh_uri, fleet)
        api.cli("pools", "set", "modelwatch_warehouse", "4", "warehouse writers")
        api.cli("connections", "delete", "modelwatch_warehouse", check=False)
        api.cli("connections", "add", "modelwatch_warehouse", "--conn-uri", wh_uri)
        try:
            wait_for(
                lambda: api.call("GET", f"/dags/{DAG}", ok=(200, 404)).get("dag_id"), "the DAG"
            )
            api.call("PATCH", f"/dags/{DAG}", json={"is_paused": False})
            yield api, spec
        finally:
            api.cli("connections", "delete", "modelwatch_warehouse", check=False)
            original = getattr(airflow_server, "wh_uri", None)
            if original:
                api.cli("connections", "add", "modelwatch_warehouse", "--conn-uri", original)


def outbox(spec, model: str) -> list[dict[str, Any]]:
    with open_warehouse(spec) as wh:
        rows = wh.query(
            "SELECT * FROM mw_remediation_requests WHERE model_id = :m ORDER BY hour, action",
            {"m": model},
        )
    return rows.to_dict("records")


def trail(spec, request_id: str) -> list[tuple[Any, ...]]:
    with open_warehouse(spec) as wh:
        ev = wh.query(
            "SELECT from_status, to_status, actor FROM mw_remediation_events "
            "WHERE request_id = :r ORDER BY seq",
            {"r": request_id},
        )
    return [tuple(None if v != v else v for v in row) for row in ev.itertuples(index=False)]


def surge_conf() -> dict[str, Any]:
    hour = f"{DEMO_DAY:%Y-%m-%d}T09:00:00Z"
    return {"hour": hour, "models": ["model-000"], "dry_run": False}


def test_a_large_scale_up_waits_and_goes_once_approved_through_the_api(deployment):
    api, spec = deployment
    run_id = api.trigger(surge_conf())
    api.asked(run_id)

    (req,) = outbox(spec, "model-000")
    rid = "model-000:20261101T09:scale_up"
    assert (req["request_id"], req["status"]) == (rid, "awaiting_approval")
    assert (req["from_replicas"], req["to_replicas"]) == (5, 13)
    assert api.ti(run_id, "dispatch")["state"] in (None, "scheduled", "queued", "none")

    detail = api.call("GET", api.hitl(run_id))
    assert detail["options"] == ["Approve", "Reject"] and detail["defaults"] == ["Reject"]
    assert detail["subject"] == "modelwatch: approve 1 remediation request(s) for 2026-11-01 09:00"
    assert f"`{rid}`" in detail["body"] and "5 → 13" in detail["body"]
    assert detail["response_received"] is False

    states = api.answer(run_id, "Approve")
    assert api.call("GET", api.hitl(run_id))["chosen_options"] == ["Approve"]
    assert states["approve"] == states["record_approval"] == states["dispatch"] == "success"

    (req,) = outbox(spec, "model-000")
    assert (req["status"], req["decided_by"], req["target"], req["attempts"]) == (
        "dispatched",
        "admin",
        "log",
        1,
    )
    first = trail(spec, rid)
    assert first == [
        (None, "awaiting_approval", "modelwatch"),
        ("awaiting_approval", "approved", "admin"),
        ("approved", "dispatched", "modelwatch"),
    ]
    # an answer cannot be given twice
    api.call("PATCH", api.hitl(run_id), ok=(409,), json={"chosen_options": ["Reject"]})

    for _ in range(3):  # reruns of the hour: nothing to approve, nothing sent again
        again = api.trigger(surge_conf())
        states = api.finished(again)
        assert states["approve"] == "skipped", states
    (req,) = outbox(spec, "model-000")
    assert (req["status"], req["attempts"]) == ("dispatched", 1)
    assert trail(spec, rid) == first


def test_a_rejected_rollback_is_never_sent(deployment):
    api, spec = deployment
    conf = {"hour": f"{DEMO_DAY:%Y-%m-%d}T17:00:00Z", "models": ["model-002"], "dry_run": False}
    run_id = api.trigger(conf)
    detail = api.asked(run_id)
    assert "`model-002:20261101T17:rollback`" in detail["body"]
    states = api.answer(run_id, "Reject")
    assert states["record_approval"] == "success"
    (req,) = outbox(spec, "model-002")
    assert (req["action"], req["status"], req["decided_by"]) == ("rollback", "rejected", "admin")
    assert req["status_reason"] == "rejected by admin in Airflow"
    assert req["attempts"] == 0 and pd.isna(req["target"])  # never sent anywhere
