"""The Model health view's "accept as new normal" button: same guards as the approvals form
(authenticated, same origin, and here the right to edit the DAG), stored with who and why."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from modelwatch.ui import app as ui
from modelwatch.ui import baselines as form
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse
from tests.integration.test_ui import as_tester

H = datetime(2026, 10, 30, 9)


@pytest.fixture
def client(tmp_path, monkeypatch):
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    z = json.dumps([{"metric": "latency_p99_ms", "robust_z": 9.0}])
    frame = pd.DataFrame(
        [
            {
                "hour": H.replace(hour=h),
                "model_id": "m1",
                "status": "scored",
                "score": 0.99,
                "threshold": 0.95,
                "is_anomaly": h >= 7,
                "n_rows": 60,
                "n_train_rows": 9000,
                "top_metrics": "latency_p99_ms",
                "explanation": z,
            }
            for h in range(5, 10)
        ]
    ).astype({"hour": "datetime64[us]"})
    with open_warehouse(spec) as wh:
        wh.insert("mw_scores", frame)
    monkeypatch.setattr(ui, "warehouse_spec", lambda settings: spec)
    ui.app.dependency_overrides[ui.require_reader] = as_tester
    try:
        yield TestClient(ui.app), spec
    finally:
        ui.app.dependency_overrides.clear()


def test_accept_needs_credentials_same_origin_and_edit_rights(client, monkeypatch) -> None:
    c, spec = client
    ui.app.dependency_overrides.clear()  # anonymous: Airflow's own get_user refuses
    assert TestClient(ui.app).post("/baselines", data={"model_id": "m1"}).status_code == 401
    ui.app.dependency_overrides[ui.require_reader] = as_tester
    monkeypatch.setattr(form, "may_edit", lambda user, dag: False)
    c.headers["Origin"] = "http://testserver"
    assert c.post("/baselines", data={"model_id": "m1"}).status_code == 403
    monkeypatch.setattr(form, "may_edit", lambda user, dag: True)
    cross = c.post(
        "/baselines", data={"model_id": "m1"}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    with open_warehouse(spec) as wh:
        assert wh.query("SELECT COUNT(*) AS n FROM mw_baselines")["n"].iloc[0] == 0


def test_accept_stores_who_and_why_from_the_next_hour(client, monkeypatch) -> None:
    c, spec = client
    monkeypatch.setattr(form, "may_edit", lambda user, dag: True)
    c.headers["Origin"] = "http://testserver"
    r = c.post(
        "/baselines",
        data={"model_id": "m1", "reason": "v7 is slower by design"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "baseline+accepted+by+tester" in r.headers["location"]
    with open_warehouse(spec) as wh:
        got = wh.query("SELECT * FROM mw_baselines")
    assert got[["model_id", "source", "actor", "reason"]].values.tolist() == [
        ["m1", "operator", "tester", "v7 is slower by design"]
    ]
    assert pd.Timestamp(got["decided_hour"].iloc[0]) == pd.Timestamp(H.replace(hour=10))
    assert pd.Timestamp(got["since"].iloc[0]) == pd.Timestamp(H.replace(hour=7))
