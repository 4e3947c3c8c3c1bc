"""The operator's path through the Airflow UI, in a real browser against `airflow standalone`.

Debian's chromium, driven by Playwright, against `airflow standalone` on loopback (this project's
DAGs and installed plugin, the embedded DuckDB warehouse, as `make up` runs them): sign in, trigger
`model_health` from the trigger form with params, wait for the run, open the Model health view
from the navigation bar and find the run's alert with its explanation, plot and report, then
approve a large scale-up from the view and see Airflow carry it out. Screenshots go to
`.artifacts/screenshots/`. The hours before the incident are processed without Airflow while
Airflow starts, so the heat map has a morning to show. Run on its own with `make test-browser`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from tests.conftest import PG_ADMIN_URI, ROOT, make_warehouse, require_postgres
from tests.deployment.airflow_harness import wait_until

pytestmark = pytest.mark.browser

DAG = "model_health"
SHOTS = ROOT / ".artifacts" / "screenshots"
SURGE, LEAK = "model-000", "model-003"  # the traffic surge (09-13) and the memory leak (04-12)
VIEW_FRAME = "iframe[title='Model health']"


def at(h: int) -> datetime:
    return DEMO_DAY + timedelta(hours=h)


def prepare_morning(spec: Any) -> None:
    """The morning before the surge (04:00-08:00: the memory leak sets in), processed as dry
    runs without Airflow, and an operator's silence on the leaking model."""
    from modelwatch.alerting.silence_table import add_silence
    from modelwatch.warehouse import open_warehouse

    for h in range(4, 9):
        run_local(at(h), spec, Settings(), RunMode("manual", False, True), run_id=f"morning__{h}")
    with open_warehouse(spec) as wh:
        add_silence(wh, {"model_id": LEAK}, at(8), at(14), "alice", "retraining", at(8))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, fleet) -> Iterator[tuple[Any, Any]]:
    """`airflow standalone` with the demo fleet's warehouse; yields (server, warehouse spec)."""
    from tests.deployment.browser_harness import CHROMIUM, Standalone

    require_postgres()
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"{CHROMIUM} is missing in CI (.ci/services.sh installs it)")
        pytest.skip(f"no chromium at {CHROMIUM}")
    home = tmp_path_factory.mktemp("standalone")
    wh_uri = f"duckdb:///{home}/warehouse.duckdb"
    spec = make_warehouse(wh_uri, fleet)
    server = Standalone(home, PG_ADMIN_URI, wh_uri)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with pytest.MonkeyPatch.context() as mp, ThreadPoolExecutor(1) as pool:
            mp.setenv("MODELWATCH_STAGING_DIR", server.env["MODELWATCH_STAGING_DIR"])
            morning = pool.submit(prepare_morning, spec)  # while Airflow starts
            server.start()
            morning.result()
        server.api("POST", "/pools", json={"name": "modelwatch_warehouse", "slots": 1})
        server.wait_for_dag(DAG)
        yield server, spec
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(deployment) -> Iterator[Any]:
    """A signed-in chromium page on the deployment."""
    from playwright.sync_api import sync_playwright

    from tests.deployment.browser_harness import CHROMIUM, CHROMIUM_ARGS

    server, _ = deployment
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)  # the UI is slow to answer on a busy 2-core machine
        try:
            page.goto(f"{server.base_url}/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", server.password)
            page.locator("button[type=submit]").click()
            page.wait_for_url(f"{server.base_url}/")
            yield page
        finally:
            browser.close()


def shot(page: Any, name: str, full: bool = False) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=full)


def trigger_from_form(page: Any, server: Any, hour: str, models: list[str], dry_run: bool) -> str:
    """Fill in model_health's trigger form as an operator does; returns the run id."""
    run_id = f"browser__{uuid.uuid4().hex[:8]}"
    page.goto(f"{server.base_url}/dags/{DAG}")
    page.get_by_role("button", name="Trigger").first.click()
    form = page.get_by_role("dialog")
    form.locator("#element_hour").fill(hour)
    form.locator("#element_models").fill("\n".join(models))
    dry = form.locator("input[name=element_dry_run]")
    if dry.is_checked() != dry_run:
        form.locator("label[id='switch:element_dry_run']").click()
    assert dry.is_checked() == dry_run
    form.get_by_role("button", name="Advanced Options").click()
    form.locator("input[name=dagRunId]").fill(run_id)
    shot(page, f"trigger-form-{hour[11:13]}h.png")
    form.get_by_role("button", name="Trigger").click()
    page.wait_for_url(f"**/dags/{DAG}/runs/{run_id}**")
    return run_id


def open_view(page: Any, server: Any) -> Any:
    """The Model health page, reached from the Airflow navigation bar; returns its frame."""
    page.goto(f"{server.base_url}/")
    page.get_by_role("link", name="Model health").first.click()
    page.wait_for_url("**/plugin/model-health**")
    frame = page.frame_locator(VIEW_FRAME)
    frame.locator("h1").wait_for()
    return frame


def ti(server: Any, run_id: str, task_id: str) -> dict[str, Any]:
    return server.api("GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/{task_id}")


def hitl(server: Any, run_id: str) -> dict[str, Any]:
    return server.api("GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails")


def approval_settled(server: Any, run_id: str) -> None:
    """Wait until the approval is asked and the scheduler has gone round once since: Airflow
    3.3.2 loses an answer given before the scheduler has handled the parked task (see
    tests/deployment/test_remediation_approval.py); an operator is never that quick, a test can
    be."""
    wait_until(
        lambda: ti(server, run_id, "approve")["state"] == "awaiting_input",
        300,
        "the approval to be asked",
        every=1.0,
    )
    created = datetime.fromisoformat(hitl(server, run_id)["created_at"].replace("Z", "+00:00"))

    def went_round() -> bool:
        health = httpx.get(f"{server.base_url}/api/v2/monitor/health", timeout=10).json()
        beat = (health.get("scheduler") or {}).get("latest_scheduler_heartbeat") or ""
        return bool(beat) and datetime.fromisoformat(beat.replace("Z", "+00:00")) > created

    wait_until(went_round, 60, "a scheduler heartbeat after the approval was asked")


# ------------------------------------------------------------------------------------ tests
def test_the_view_refuses_callers_airflow_has_not_authenticated(deployment):
    server, _ = deployment
    view = f"{server.base_url}/modelwatch"
    for method, path in (
        ("GET", "/"),
        ("GET", "/api/overview"),
        ("GET", f"/reports/{at(8):%Y%m%dT%H}/report.html"),
        ("POST", "/approvals"),
    ):
        r = httpx.request(method, view + path, timeout=30)
        assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
        forged = httpx.request(
            method, view + path, headers={"Authorization": "Bearer not-a-jwt"}, timeout=30
        )
        assert forged.status_code in (401, 403), (method, path, forged.status_code)
    token = {"Authorization": f"Bearer {server.token()}"}
    got = httpx.get(f"{view}/api/overview", headers=token, timeout=30)
    assert got.status_code == 200
    assert got.json()["day"] == f"{DEMO_DAY:%Y-%m-%d}"  # the morning processed beforehand


def test_a_run_triggered_from_the_form_shows_its_alert_in_the_view(deployment, page):
    server, _ = deployment
    run_id = trigger_from_form(page, server, f"{at(9):%Y-%m-%dT%H:%M:%SZ}", [SURGE, LEAK], True)
    run = server.wait_for_run(DAG, run_id, timeout=420)
    assert run["conf"] == {
        "hour": f"{at(9):%Y-%m-%dT%H:%M:%SZ}",
        "models": [SURGE, LEAK],
        "dry_run": True,
        "notify": False,
    }
    shot(page, "run-succeeded.png")

    frame = open_view(page, server)
    alert = frame.locator(f"[data-alert-id='{SURGE}:anomaly:{at(9):%Y%m%dT%H}']")
    alert.wait_for()
    assert "critical" in alert.inner_text()
    assert alert.locator("table.metrics tr").count() >= 2  # the explanation: top metrics
    plot = alert.locator("img.plot")
    plot.evaluate("img => img.decode()")  # loaded (and a PNG), or this raises
    assert plot.evaluate("img => img.naturalWidth") > 0
    shot(page, "model-health-in-airflow.png")
    alert.screenshot(path=str(SHOTS / "alert-with-explanation-and-plot.png"))
    assert frame.locator(f"[data-alert-id^='{LEAK}:anomaly:']").count() == 1
    assert "retraining" in frame.locator("table.silences").inner_text()
    heat = frame.locator("#heatmap")
    surge_row = heat.locator(f"tr:has(th.model:text-is('{SURGE}'))")
    assert surge_row.locator("td.st-anomaly").count() >= 1

    # the run's report, linked from the alert
    alert.get_by_role("link", name="the hour's report").click()
    report = frame.locator("h1", has_text="model_health:")
    report.wait_for()
    assert f"{at(9):%Y-%m-%d %H:00}" in report.inner_text()
    assert run_id in frame.locator("body").inner_text()
    # the whole view and the whole report, each as its own page
    page.goto(f"{server.base_url}/modelwatch/")
    shot(page, "model-health-view.png", full=True)
    page.goto(f"{server.base_url}/modelwatch/reports/{at(9):%Y%m%dT%H}/report.html")
    assert page.locator(".alert img.plot").count() >= 1
    shot(page, "run-report.png", full=True)


def test_a_large_scale_up_is_approved_from_the_view(deployment, page):
    server, spec = deployment
    rid = f"{SURGE}:{at(10):%Y%m%dT%H}:scale_up"
    run_id = trigger_from_form(page, server, f"{at(10):%Y-%m-%dT%H:%M:%SZ}", [SURGE], False)
    approval_settled(server, run_id)

    frame = open_view(page, server)
    row = frame.locator(f"tr[data-request-id='{rid}']")
    row.wait_for()
    assert "awaiting approval" in row.inner_text()
    assert run_id in row.inner_text()
    row.screenshot(path=str(SHOTS / "approval-pending.png"))
    shot(page, "approval-pending-in-airflow.png")

    def approve() -> None:
        view = open_view(page, server)
        view.locator(f"tr[data-request-id='{rid}']").get_by_role("button", name="Approve").click()
        assert "Approved" in view.locator(".flash").inner_text()

    approve()
    shot(page, "approval-answered.png")
    deadline = time.monotonic() + 300

    def finished() -> dict[str, Any] | None:
        run = server.api("GET", f"/dags/{DAG}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed"):
            return run
        # Airflow 3.3.2 may still lose an early answer and ask again: answer again, as an
        # operator would on seeing the request still waiting
        if (
            ti(server, run_id, "approve")["state"] == "awaiting_input"
            and not hitl(server, run_id)["response_received"]
        ):
            approval_settled(server, run_id)
            approve()
        return None

    run = wait_until(finished, max(1.0, deadline - time.monotonic()), "the approved run", 2.0)
    assert run["state"] == "success"
    assert hitl(server, run_id)["chosen_options"] == ["Approve"]

    frame = open_view(page, server)
    row = frame.locator(f"tr[data-request-id='{rid}']")
    row.wait_for()
    assert "dispatched" in row.inner_text() and "admin" in row.inner_text()
    shot(page, "approval-dispatched-in-airflow.png")
    page.goto(f"{server.base_url}/modelwatch/")
    shot(page, "model-health-view-after-approval.png", full=True)

    from modelwatch.ui.app import read_only

    with read_only(spec) as wh:
        req = wh.query(
            "SELECT status, decided_by, mode FROM mw_remediation_requests WHERE request_id = :r",
            {"r": rid},
        ).iloc[0]
    assert (req["status"], req["decided_by"], req["mode"]) == ("dispatched", "admin", "live")


def test_the_surge_incident_page_follows_it_end_to_end(deployment, page):
    """After the runs above: the surge's incident page, reached from its alert's link, shows
    the plot, the verdicts, the notifications and the approved scale-up with who approved."""
    from modelwatch.links import incident_href

    server, _ = deployment
    alert_id = f"{SURGE}:anomaly:{at(9):%Y%m%dT%H}"
    frame = open_view(page, server)
    card = frame.locator(f"[data-alert-id='{alert_id}']")
    card.wait_for()
    card.get_by_role("link", name="the incident, end to end").click()
    head = frame.locator("h1#incident")
    head.wait_for()
    assert alert_id in head.inner_text()
    shot(page, "incident-page-in-airflow.png")

    page.goto(f"{server.base_url}/modelwatch/{incident_href(alert_id)}")
    plot = page.locator("img.plot")
    plot.evaluate("img => img.decode()")
    assert plot.evaluate("img => img.naturalWidth") > 0
    assert page.locator("table.verdicts tr.in-alert").count() >= 1
    request = page.locator(f"[data-request-id='{SURGE}:{at(10):%Y%m%dT%H}:scale_up']")
    assert "admin" in request.inner_text() and "dispatched" in request.inner_text()
    shot(page, "incident-page-surge.png", full=True)
