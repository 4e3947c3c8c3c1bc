"""The Model health view without a browser: its queries, its pages, its guards.

The queries run on DuckDB and PostgreSQL over hours of the incident day processed by the
pipeline (a dry morning, then a live hour whose scale-up waits for an operator). The FastAPI app
is exercised with Starlette's test client: without credentials every route is refused (Airflow's
own `get_user` decides), and with Airflow's auth dependency replaced by a known user the pages
render what the queries return. The real api-server's authentication is exercised in
tests/deployment/test_browser.py.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient

from modelwatch.alerting.silence_table import add_silence
from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.ui import app as ui
from modelwatch.ui import queries
from modelwatch.warehouse import WarehouseError, open_warehouse

SURGE, LEAK = "model-000", "model-003"
DRY, LIVE = RunMode("manual", False, True), RunMode("manual", False, False)


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def incident(request, tmp_path_factory, fleet):
    """A warehouse with 08:00-09:00 processed as dry runs, a live 10:00 for the surging model
    (its scale-up waits for approval) and a silence; yields its spec."""
    from tests.conftest import make_warehouse, pg_database

    if request.param == "duckdb":
        uri = f"duckdb:///{tmp_path_factory.mktemp('ui')}/w.duckdb"
        spec = make_warehouse(uri, fleet)
        yield spec
        return
    with pg_database() as uri:
        spec = make_warehouse(uri, fleet)
        yield spec


@pytest.fixture(scope="module")
def processed(incident):
    settings = Settings()
    for h in (8, 9):
        run_local(at(h), incident, settings, DRY, run_id=f"dry__{h}")
    run_local(at(10), incident, settings, LIVE, models=[SURGE], run_id="live__10", dispatch=False)
    with open_warehouse(incident) as wh:
        add_silence(wh, {"model_id": LEAK}, at(8), at(12), "alice", "retraining", at(8))
        add_silence(wh, {"team": "ads"}, at(11), at(13), "bob", "migration", at(8))
    return incident


def test_the_heat_map_has_every_model_by_hour_with_the_surge_marked(processed):
    with open_warehouse(processed) as wh:
        grid = queries.heatmap(wh, DEMO_DAY)
    assert len(grid.hours) == 24 and grid.hours[0] == DEMO_DAY
    assert grid.models == sorted(grid.models) and SURGE in grid.models
    assert {at(8), at(9), at(10)} <= grid.processed_hours
    surge = grid.cell(SURGE, at(9))
    assert surge.is_anomaly and surge.css == "st-anomaly" and "ANOMALY" in surge.title
    calm = grid.cell("model-009", at(8))
    assert calm.status == "scored" and calm.css.startswith("sc-")
    assert grid.cell(SURGE, at(3)) is None  # not processed


def test_alerts_carry_their_explanation_and_the_hour_they_opened(processed):
    with open_warehouse(processed) as wh:
        active = queries.alerts_active(wh, at(10))
        at_nine = {a["alert_id"]: a for a in queries.alerts_active(wh, at(9))}
    ids = [a["alert_id"] for a in active]
    surge = f"{SURGE}:anomaly:{at(9):%Y%m%dT%H}"
    assert surge in ids
    a = next(a for a in active if a["alert_id"] == surge)
    assert a["open"] and a["event"] == "firing" and a["severity"] in ("critical", "warning")
    assert a["metrics"] and {"metric", "observed", "baseline", "robust_z"} <= set(a["metrics"][0])
    assert at_nine[surge]["event"] == "opened"


def test_requests_waiting_for_an_operator_come_first_with_the_run_that_asks(processed):
    with open_warehouse(processed) as wh:
        rows = queries.requests(wh, DEMO_DAY, DEMO_DAY + timedelta(days=1))
        none_waiting = queries.requests(wh, at(9), at(10), include_waiting=False)
    first = rows[0]
    assert first["request_id"] == f"{SURGE}:{at(10):%Y%m%dT%H}:scale_up"
    assert first["waiting"] and first["run_id"] == "live__10" and first["mode"] == "live"
    assert first["to_replicas"] > first["from_replicas"]
    assert not any(r["waiting"] for r in rows[1:])
    assert none_waiting and all(r["hour"] == at(9) for r in none_waiting)


def test_silences_say_whether_they_are_in_force(processed):
    with open_warehouse(processed) as wh:
        rows = {s["created_by"]: s for s in queries.silences(wh, at(10))}
        later = {s["created_by"]: s for s in queries.silences(wh, at(12))}
    assert rows["alice"]["state"] == "active" and rows["alice"]["matchers"] == {"model_id": LEAK}
    assert rows["bob"]["state"] == "pending"
    assert later["alice"]["state"] == "expired" and later["bob"]["state"] == "active"


def test_the_view_opens_on_the_last_hour_with_findings(processed):
    with open_warehouse(processed) as wh:
        assert queries.latest_hour(wh) == at(10)
        data = ui.overview(wh, None)
    assert data["day"] == f"{DEMO_DAY:%Y-%m-%d}" and data["at"] == at(10)
    assert data["runs"][0]["hour"] == at(10)
    assert all(a["open"] for a in data["alerts"])


# ------------------------------------------------------------------------------ the app
class User:
    def get_name(self) -> str:
        return "tester"


def as_tester(request: Request) -> User:
    request.state.modelwatch_user = User()
    return User()


@pytest.fixture
def client(processed, monkeypatch, tmp_path):
    """The app reading `processed` through the connection, as a signed-in user."""
    spec = processed
    monkeypatch.setattr(ui, "warehouse_spec", lambda settings: spec)
    monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(tmp_path / "reports"))
    ui.app.dependency_overrides[ui.require_reader] = as_tester
    try:
        yield TestClient(ui.app)
    finally:
        ui.app.dependency_overrides.clear()


def test_every_route_refuses_a_caller_without_credentials(processed):
    anonymous = TestClient(ui.app)
    for method, path in (
        ("GET", "/"),
        ("GET", "/api/overview"),
        ("GET", "/reports/20261101T09/report.html"),
        ("POST", "/approvals"),
    ):
        r = anonymous.request(method, path)
        assert r.status_code == 401, (method, path, r.status_code)


def test_the_index_shows_the_heat_map_alerts_requests_and_silences(client):
    r = client.get("/")
    assert r.status_code == 200
    page = r.text
    assert 'id="heatmap"' in page and "st-anomaly" in page
    assert f'data-alert-id="{SURGE}:anomaly:{at(9):%Y%m%dT%H}"' in page
    assert f'data-request-id="{SURGE}:{at(10):%Y%m%dT%H}:scale_up"' in page
    assert 'name="run_id" value="live__10"' in page and 'value="Approve"' in page
    assert "retraining" in page and "signed in as tester" in page
    assert client.get("/api/overview").json()["at"] == at(10).isoformat()
    assert client.get("/", params={"day": "not-a-day"}).status_code == 400


def test_a_day_without_neighbours_is_a_clear_400_not_an_error(client, caplog):
    """9999-12-31 has no next day and 0001-01-01 no day before: asked for either, the page and
    its JSON answer 400 saying which days there are, and nothing is logged as an error. The
    days just inside show a day without runs."""
    for day in ("9999-12-31", "0001-01-01"):
        for path in ("/", "/api/overview"):
            r = client.get(path, params={"day": day})
            assert r.status_code == 400, (path, day, r.status_code)
            assert r.json()["detail"] == "day must be from 0001-01-02 to 9999-12-30"
    for day in ("9999-12-30", "0001-01-02"):
        assert client.get("/", params={"day": day}).status_code == 200
        data = client.get("/api/overview", params={"day": day}).json()
        assert data["day"] == day and data["runs"] == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_view_serves_report_files_and_nothing_else(client, tmp_path):
    folder = tmp_path / "reports" / f"{at(9):%Y%m%dT%H}"
    folder.mkdir(parents=True)
    (folder / "report.html").write_text("<h1>report</h1>")
    (tmp_path / "secret.png").write_bytes(b"x")
    ok = client.get(f"/reports/{at(9):%Y%m%dT%H}/report.html")
    assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/html")
    for bad in (
        f"/reports/{at(9):%Y%m%dT%H}/missing.png",
        f"/reports/{at(9):%Y%m%dT%H}/..%2F..%2Fsecret.png",
        "/reports/..%2F/secret.png",
        f"/reports/{at(9):%Y%m%dT%H}/report.py",
    ):
        assert client.get(bad).status_code in (404, 422), bad


def test_the_view_serves_report_files_from_a_store(client, monkeypatch):
    """Reports on a store (workers on several machines): the view reads them through it, and
    answers 404 for what is not there."""
    from upath import UPath

    base = UPath(f"memory:///reports-{uuid.uuid4().hex}")
    monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(base))
    folder = base / f"{at(9):%Y%m%dT%H}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plot.png").write_bytes(b"\x89PNG stored")
    ok = client.get(f"/reports/{at(9):%Y%m%dT%H}/plot.png")
    assert ok.status_code == 200 and ok.content == b"\x89PNG stored"
    assert ok.headers["content-type"] == "image/png"
    assert client.get(f"/reports/{at(9):%Y%m%dT%H}/missing.png").status_code == 404
    assert client.get(f"/reports/{at(9):%Y%m%dT%H}/..%2Fplot.png").status_code in (404, 422)


def test_an_approval_goes_to_airflow_as_the_caller_and_back_to_the_view(client, monkeypatch):
    sent: list[dict[str, Any]] = []

    class Answer:
        status_code, text = 200, "{}"

    def patch(url: str, json: dict, headers: dict, timeout: float) -> Answer:
        sent.append({"url": url, "json": json, "auth": headers["Authorization"]})
        return Answer()

    import httpx

    monkeypatch.setattr(httpx, "patch", patch)
    client.cookies.set("_token", "the-callers-jwt")
    client.headers["Origin"] = "http://testserver"  # a browser's form post from the view
    r = client.post(
        "/approvals",
        data={"run_id": "manual__2026-11-01T10:00:00+00:00", "choice": "Approve"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("./?flash=Approved")
    (call,) = sent
    assert call["url"].endswith(
        "/api/v2/dags/model_health/dagRuns/manual__2026-11-01T10%3A00%3A00%2B00%3A00"
        "/taskInstances/approve/-1/hitlDetails"
    )
    assert call["json"] == {"chosen_options": ["Approve"]}
    assert call["auth"] == "Bearer the-callers-jwt"

    Answer.status_code = 409
    r = client.post("/approvals", data={"run_id": "x", "choice": "Reject"}, follow_redirects=False)
    assert "already+been+answered" in r.headers["location"] and "error=1" in r.headers["location"]
    bad = client.post("/approvals", data={"run_id": "x", "choice": "Delete"})
    assert bad.status_code == 422
    cross = client.post(
        "/approvals",
        data={"run_id": "x", "choice": "Approve"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403 and len(sent) == 2


def _record_patches(monkeypatch) -> list[str]:
    """Capture where the view sends approval answers (httpx.patch), answering 200."""
    import httpx

    urls: list[str] = []

    class Answer:
        status_code, text = 200, ""

    def patch(url: str, **kwargs: Any) -> Answer:
        urls.append(url)
        return Answer()

    monkeypatch.setattr(httpx, "patch", patch)
    return urls


def test_a_cookie_post_without_origin_is_refused(client, monkeypatch):
    """A cross-site form rides the session cookie; browsers always send Origin on a POST, so
    one without it is refused (it was accepted before), while a bearer-token client may omit it."""
    urls = _record_patches(monkeypatch)
    client.cookies.set("_token", "the-callers-jwt")
    r = client.post("/approvals", data={"run_id": "x", "choice": "Approve"})
    assert r.status_code == 403 and urls == []
    r = client.post(
        "/approvals",
        data={"run_id": "x", "choice": "Approve"},
        headers={"Authorization": "Bearer a-token"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and len(urls) == 1


def test_the_approval_goes_to_the_configured_airflow_never_the_host_header(client, monkeypatch):
    """The view answered Airflow at whatever address the request's Host header named, carrying
    the operator's token there (authenticated SSRF); Airflow's address now comes from config."""
    urls = _record_patches(monkeypatch)
    monkeypatch.setenv("MODELWATCH_AIRFLOW_API_URL", "http://airflow.internal:8080")
    client.cookies.set("_token", "the-callers-jwt")
    r = client.post(
        "/approvals",
        data={"run_id": "x", "choice": "Approve"},
        headers={"Host": "evil.example", "Origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert [u.split("/api/")[0] for u in urls] == ["http://airflow.internal:8080"]
    monkeypatch.delenv("MODELWATCH_AIRFLOW_API_URL")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")
    monkeypatch.setenv("AIRFLOW__API__HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__API__PORT", "8793")
    client.post(
        "/approvals",
        data={"run_id": "x", "choice": "Approve"},
        headers={"Host": "evil.example", "Origin": "http://evil.example"},
        follow_redirects=False,
    )
    assert urls[-1].startswith("http://127.0.0.1:8793/api/v2/")


def test_the_view_only_reads_and_says_so_when_the_file_is_busy(processed, client, monkeypatch):
    if processed.conn_type != "duckdb":
        with ui.read_only(processed) as wh, pytest.raises(WarehouseError):
            wh.execute("DELETE FROM mw_runs")
        return
    with ui.read_only(processed) as wh, pytest.raises(WarehouseError):
        wh.execute("DELETE FROM mw_runs")
    # a task holding the file for writing: the page answers 503 quickly instead of hanging
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                con = duckdb.connect({processed.duckdb_path!r})
                print("locked", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv(ui.LOCK_TIMEOUT_ENV, "0.5")
        t0 = time.monotonic()
        r = client.get("/")
        assert r.status_code == 503 and "cannot be read right now" in r.text
        assert time.monotonic() - t0 < 10
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert client.get("/").status_code == 200  # and nothing of the view kept the file open


def test_a_missing_connection_is_a_message_not_a_crash(client, monkeypatch):
    def undefined(settings):
        raise LookupError("The conn_id `modelwatch_warehouse` isn't defined")

    monkeypatch.setattr(ui, "warehouse_spec", undefined)
    r = client.get("/")
    assert r.status_code == 503 and "connection cannot be used" in r.text


def test_the_plugin_mounts_this_app_and_links_it_from_the_navigation_bar():
    from modelwatch.airflow.plugin import ModelwatchPlugin

    plugin = ModelwatchPlugin()
    (mounted,) = plugin.fastapi_apps
    assert mounted["app"] is ui.app and mounted["url_prefix"] == ui.URL_PREFIX
    (view,) = plugin.external_views
    assert view["destination"] == "nav" and view["url_route"] == ui.VIEW_ROUTE
    assert view["href"] == ui.URL_PREFIX.lstrip("/") + "/"  # relative: no leading slash
