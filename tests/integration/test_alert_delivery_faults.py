"""The delivery fault catalogue: each fault against a real server on loopback and a real DuckDB
warehouse, through the alert step. Every case checks that once the fault clears the ledger
converges (one row per notification, `sent`), the receiver never saw the event under two keys,
and rerunning the hours sends nothing new.

The scenario: model m01 fires at 09:00 (a critical score opens it at once) and is quiet at
10:00, so the only notification is the 09:00 firing to the webhook receiver `hook`; the 10:00
run is the "next run" that retries what is owed.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from modelwatch.alerting import step
from modelwatch.alerting.channels import build
from modelwatch.alerting.ledger import SENDING, SENT, key_of
from modelwatch.alerting.lifecycle import FIRING, AlertEvent
from modelwatch.config import ChannelConfig
from modelwatch.warehouse import WarehouseError
from modelwatch.warehouse.base import Warehouse
from tests.conftest import make_warehouse
from tests.integration.alert_world import (
    FAIL,
    HANG,
    REDIRECT,
    H,
    Receiver,
    free_port,
    hook_settings,
    receiver,
    run_alerts,
    table,
    write_hour,
)

NEXT = H + timedelta(hours=1)
HOOK = ChannelConfig(type="webhook", conn_id="mw_ft_hook", timeout_s=1)
NID = "m01:anomaly:20261101T09:firing:20261101T09:hook"


@pytest.fixture
def recv() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recv: Receiver):
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    conn = {"conn_type": "http", "host": f"{recv.url}/hook", "login": "mw", "password": "hunter2pw"}
    monkeypatch.setenv("AIRFLOW_CONN_MW_FT_HOOK", json.dumps(conn))
    monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(tmp_path / "reports"))
    write_hour(spec, H, {"m01"})
    write_hour(spec, NEXT)
    return spec, hook_settings({"hook": HOOK})


def ledger(spec) -> pd.DataFrame:
    return table(spec, "SELECT * FROM mw_notifications ORDER BY notification_id")


def alerts(spec) -> pd.DataFrame:
    return table(spec, "SELECT * FROM mw_alerts ORDER BY alert_id")


def assert_converged(spec, settings, recv: Receiver, deliveries: int, accepted: int = 1) -> None:
    """One sent row for the notification; every copy the receiver saw (`deliveries`, of which
    `accepted` answered 200) carried its one key; rerunning both hours sends nothing and
    changes no row."""
    rows = ledger(spec)
    assert rows[["notification_id", "state"]].values.tolist() == [[NID, SENT]]
    got = recv.received("/hook")
    assert len(got) == deliveries
    assert set(recv.alert_keys("/hook")) == {key_of(NID)}
    assert {r.headers["Idempotency-Key"] for r in got} == {got[0].headers["Idempotency-Key"]}
    assert [r.answered for r in got].count(200) == accepted
    before = (ledger(spec), table(spec, "SELECT * FROM mw_notification_attempts"))
    run_alerts(spec, H, settings, run_id="rerun_09")
    run_alerts(spec, NEXT, settings, run_id="rerun_10")
    assert len(recv.received("/hook")) == deliveries
    pd.testing.assert_frame_equal(ledger(spec), before[0])
    pd.testing.assert_frame_equal(table(spec, "SELECT * FROM mw_notification_attempts"), before[1])


def test_a_500_is_failed_then_retried_next_run_with_the_same_key(world, recv) -> None:
    spec, settings = world
    recv.then("/hook", FAIL)
    got = run_alerts(spec, H, settings)
    assert got["failed"] == 1
    row = ledger(spec).iloc[0]
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert row["detail"].startswith("HTTP 500")
    run_alerts(spec, NEXT, settings)
    assert ledger(spec)["attempts"].tolist() == [2]
    assert_converged(spec, settings, recv, deliveries=2)


def test_a_timeout_after_the_receiver_got_it_is_resent_with_the_same_key(world, recv) -> None:
    """The receiver has the message but the client times out: at least once, so it is sent
    again next run, under the same per-alert key and (same batch) the same header key."""
    spec, settings = world
    recv.then("/hook", HANG)
    got = run_alerts(spec, H, settings)
    assert got["failed"] == 1
    assert ledger(spec)["detail"].str.contains("(?i)timed? ?out").all()
    (first,) = recv.received("/hook")
    assert first.answered is None and first.body["alerts"][0]["idempotencyKey"] == key_of(NID)
    run_alerts(spec, NEXT, settings)
    assert_converged(spec, settings, recv, deliveries=2)


def test_a_redirect_is_not_followed_and_is_a_failure_with_a_redacted_detail(world, recv) -> None:
    spec, settings = world
    recv.redirect_to = f"{recv.url}/elsewhere/SeCrEtPaTh?token=abcdef"
    recv.then("/hook", REDIRECT)
    got = run_alerts(spec, H, settings)
    assert got["failed"] == 1
    assert recv.received("/elsewhere") == []  # neither the body nor the credentials went there
    detail = ledger(spec)["detail"].iloc[0]
    assert detail.startswith("HTTP 302: redirect to http://127.0.0.1")
    assert "SeCrEtPaTh" not in detail and "abcdef" not in detail
    run_alerts(spec, NEXT, settings)
    assert_converged(spec, settings, recv, deliveries=2)


def test_a_failed_ledger_write_after_delivery_is_resent_with_the_same_key(
    world, recv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warehouse refuses the confirming write once, after the receiver accepted: the row
    written before the send stays `sending` (with its key), and the next run resends it under
    that key rather than losing it or sending it under a new one."""
    spec, settings = world
    real = Warehouse.replace
    fail = {"left": 1}

    def flaky(self, table_name, frame, where, params=None):
        if table_name == "mw_notification_attempts" and fail["left"]:
            fail["left"] -= 1
            raise WarehouseError("disk full")
        return real(self, table_name, frame, where, params)

    monkeypatch.setattr(Warehouse, "replace", flaky)
    with pytest.raises(WarehouseError, match="disk full"):
        run_alerts(spec, H, settings)
    row = ledger(spec).iloc[0]
    assert (row["notification_id"], row["state"]) == (NID, SENDING)
    assert key_of(NID) in row["detail"]
    assert alerts(spec).empty  # the confirming transaction rolled back whole
    assert [r.answered for r in recv.received("/hook")] == [200]
    run_alerts(spec, NEXT, settings)
    assert alerts(spec)["alert_id"].tolist() == ["m01:anomaly:20261101T09"]
    assert_converged(spec, settings, recv, deliveries=2, accepted=2)


def test_warehouse_gone_between_read_and_write_fails_the_run_and_a_rerun_converges(
    world, recv, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, settings = world
    real = step.open_warehouse
    opened = {"n": 0}

    def flaky_open(*args, **kwargs):
        opened["n"] += 1
        if opened["n"] == 2:  # the write phase, after the deliveries
            raise WarehouseError("could not connect to the warehouse")
        return real(*args, **kwargs)

    monkeypatch.setattr(step, "open_warehouse", flaky_open)
    with pytest.raises(WarehouseError, match="could not connect"):
        run_alerts(spec, H, settings)
    assert ledger(spec)["state"].tolist() == [SENDING]
    assert alerts(spec).empty
    monkeypatch.setattr(step, "open_warehouse", real)
    run_alerts(spec, H, settings, run_id="scheduled__09__try2")  # Airflow's task retry
    assert alerts(spec)["alert_id"].tolist() == ["m01:anomaly:20261101T09"]
    assert_converged(spec, settings, recv, deliveries=2, accepted=2)


def test_warehouse_refusing_the_pre_send_write_sends_nothing(
    world, recv, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, settings = world
    real = Warehouse.replace
    fail = {"left": 1}

    def flaky(self, table_name, frame, where, params=None):
        sending = table_name == "mw_notifications" and (frame["state"] == SENDING).all()
        if sending and len(frame) and fail["left"]:
            fail["left"] -= 1
            raise WarehouseError("read-only transaction")
        return real(self, table_name, frame, where, params)

    monkeypatch.setattr(Warehouse, "replace", flaky)
    with pytest.raises(WarehouseError):
        run_alerts(spec, H, settings)
    assert recv.received("/hook") == [] and ledger(spec).empty
    run_alerts(spec, H, settings, run_id="scheduled__09__try2")
    assert_converged(spec, settings, recv, deliveries=1)


# ------------------------------------------------------------------- the real Alertmanager
def _alertmanager_binary() -> str | None:
    for path in ("/usr/bin/prometheus-alertmanager", "/usr/local/bin/alertmanager"):
        if Path(path).exists():
            return path
    return None


@pytest.fixture(scope="module")
def alertmanager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.integration.test_channels_servers import wait_ready

    binary = _alertmanager_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Alertmanager binary not found")
        pytest.skip("Alertmanager binary not found (apt-get install prometheus-alertmanager)")
    home = tmp_path_factory.mktemp("am-idem")
    (home / "am.yml").write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n"
    )
    port = free_port()
    with (home / "am.log").open("w") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={home / 'am.yml'}",
                f"--storage.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{url}/-/ready")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_alertmanager_gets_the_key_as_an_annotation_and_dedupes_a_resend(
    alertmanager_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MW_FT_AM", alertmanager_url)
    am = build("am", ChannelConfig(type="alertmanager", conn_id="mw_ft_am"))
    e = AlertEvent(
        "idem:anomaly:20261101T09", "idem", "anomaly", FIRING, "warning", H, "idem: anomaly"
    )
    assert am.send([e]).ok and am.send([e]).ok  # a resend after an unconfirmed send
    with urllib.request.urlopen(f"{alertmanager_url}/api/v2/alerts", timeout=10) as r:
        held = [a for a in json.loads(r.read()) if a["labels"]["alert_id"] == e.alert_id]
    assert len(held) == 1
    nid = "idem:anomaly:20261101T09:firing:20261101T09:am"
    assert held[0]["annotations"]["idempotency_key"] == key_of(nid)
    assert "idempotency_key" not in held[0]["labels"]
