"""The incident page: one alert end to end (plot, verdicts by hour, notifications, hints,
requests with every status change and who approved), reached from the alert's link; a what-if
shadow's incident only when asked for by name. Both backends, Starlette's test client."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from modelwatch.config import Settings
from modelwatch.links import incident_href, view_incident_url
from modelwatch.pipeline import approval
from modelwatch.pipeline.runner import run_local
from modelwatch.pipeline.whatif import run_shadow
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.ui import app as ui
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run
from tests.integration.test_ui import as_tester

SURGE = "model-000"
ALERT = f"{SURGE}:anomaly:{DEMO_DAY + timedelta(hours=9):%Y%m%dT%H}"
LIVE = RunMode("manual", False, False)


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


@pytest.fixture
def client(seeded, monkeypatch, tmp_path):
    """08-09 dry, 10 live for the surge (its scale-up approved by alice), a hint, a shadow."""
    settings = Settings()
    for h in (8, 9):
        run_local(at(h), seeded, settings, run_id=f"dry__{h}")
    run_local(at(10), seeded, settings, LIVE, models=[SURGE], run_id="live__10", dispatch=False)
    run = make_run(at(10), seeded, settings, LIVE, [SURGE], "live__10")
    rid = f"{SURGE}:{at(10):%Y%m%dT%H}:scale_up"
    answer = {"chosen_options": ["Approve"], "responded_by_user": {"name": "alice"}}
    approval.record(run, {"approval": {"request_ids": [rid]}}, answer)
    with open_warehouse(seeded) as wh:  # a known hint in place of what the alert step found
        hint = pd.DataFrame(
            [[ALERT, at(9), SURGE, 1, "traffic", "traffic doubled at 09:00", "{}", 0.9]],
            columns=[
                "alert_id",
                "hour",
                "model_id",
                "rank",
                "kind",
                "summary",
                "evidence",
                "score",
            ],
        )
        hint["hour"] = hint["hour"].astype("datetime64[us]")
        wh.replace("mw_hints", hint, "alert_id = :a AND hour = :h", {"a": ALERT, "h": at(9)})
    run_shadow(seeded, settings, "again", at(8), at(10), progress=False)
    monkeypatch.setattr(ui, "warehouse_spec", lambda settings: seeded)
    monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(tmp_path / "reports"))
    ui.app.dependency_overrides[ui.require_reader] = as_tester
    try:
        yield TestClient(ui.app)
    finally:
        ui.app.dependency_overrides.clear()


def test_the_incident_page_follows_an_alert_to_what_was_done(client):
    index = client.get("/").text
    assert f'href="{incident_href(ALERT)}"' in index  # every alert links to its page
    r = client.get("/" + incident_href(ALERT))
    assert r.status_code == 200
    page = r.text
    assert f'data-alert-id="{ALERT}"' in page
    assert 'src="data:image/png;base64,' in page  # the metric plot
    assert page.count("<tr") > 8 and "latency_p99_ms" in page  # verdicts, with why
    assert "firing" in page and "notify is off for this run" in page  # events, ledger
    assert "traffic doubled at 09:00" in page  # the hint
    rid = f"{SURGE}:{at(10):%Y%m%dT%H}:scale_up"
    assert f'data-request-id="{rid}"' in page
    assert "awaiting_approval" in page and "approved" in page and "alice" in page
    assert "answered by alice" in page


def test_a_shadows_incident_only_when_asked_and_unknown_alerts_are_404(client):
    assert client.get("/" + incident_href("model-000:anomaly:20000101T00")).status_code == 404
    shadow = client.get("/" + incident_href(ALERT), params={"shadow": "again"})
    assert shadow.status_code == 200 and "what-if shadow again" in shadow.text
    assert "alice" not in shadow.text  # the shadow proposes; nobody approved anything there
    assert "what-if" not in client.get("/").text
    assert client.get("/" + incident_href(ALERT), params={"shadow": "nope"}).status_code == 503


def test_alerts_carry_the_incident_link():
    url = view_incident_url("http://airflow:8080/", ALERT)
    assert url == f"http://airflow:8080/modelwatch/incidents/{quote(ALERT, safe='')}"
