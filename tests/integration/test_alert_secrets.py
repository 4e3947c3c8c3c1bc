"""A webhook's secret is its URL path: it must reach no log record, no ledger row and no report,
after a failing and a succeeding send, through the alert step with real HTTP clients (HttpHook
for the webhook, slack_sdk through SlackWebhookHook for Slack) on loopback.

Slack cannot run here; its receiver implements the documented incoming-webhook contract (JSON
`text`/`blocks`, 200 "ok"). Every logger's records are captured at DEBUG, including loggers
that do not propagate to the root.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.config import ChannelConfig
from modelwatch.connections import get_connection, registered_secrets
from tests.conftest import make_warehouse
from tests.integration.alert_world import (
    FAIL,
    H,
    free_port,
    hook_settings,
    receiver,
    run_alerts,
    table,
    write_hour,
)

HOOK_SECRET = "T0kenInThePath9f3b"
SLACK_SECRET = "XoXbSlackPathSecret77"
QUERY_SECRET = "qs-SeCrEt-1234"


class Everything(logging.Handler):
    """Every record of every logger, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[Everything]:
    """Attach to the root and to every existing logger that does not propagate."""
    handler = Everything()
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger()] + [
        lg
        for lg in logging.Logger.manager.loggerDict.values()
        if isinstance(lg, logging.Logger) and not lg.propagate
    ]
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield handler
    finally:
        for lg in loggers:
            lg.removeHandler(handler)


def test_connection_secrets_are_registered_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.log import redact as airflow_redact  # what Airflow's task logs apply

    url = f"https://hooks.example.org/hook/{HOOK_SECRET}?sig={QUERY_SECRET}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_MW_SEC_X",
        json.dumps({"conn_type": "http", "host": url, "extra": {"api_token": "tok-abcdef-99"}}),
    )
    get_connection("mw_sec_x")
    secrets = registered_secrets()
    assert {f"/hook/{HOOK_SECRET}", QUERY_SECRET, "tok-abcdef-99"} <= secrets
    masked = airflow_redact(f"POST {url} with tok-abcdef-99")
    assert HOOK_SECRET not in masked and QUERY_SECRET not in masked and "abcdef" not in masked


def test_a_secret_webhook_path_reaches_no_log_ledger_or_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, all_logs: Everything
) -> None:
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    reports = tmp_path / "reports"
    monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(reports))
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: a connection error names the URL
    settings = hook_settings(
        {
            "hook": ChannelConfig(type="webhook", conn_id="mw_sec_hook", timeout_s=2),
            "slack": ChannelConfig(type="slack", conn_id="mw_sec_slack", timeout_s=2),
        }
    )
    with receiver() as recv:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MW_SEC_HOOK",
            json.dumps({"conn_type": "http", "host": f"{dead}/hook/{HOOK_SECRET}"}),
        )
        slack_url = f"{recv.url}/services/T000/B000/{SLACK_SECRET}"
        monkeypatch.setenv(
            "AIRFLOW_CONN_MW_SEC_SLACK",
            json.dumps({"conn_type": "slackwebhook", "password": slack_url}),
        )
        recv.then("/services", FAIL)
        write_hour(spec, H, {"m01"})
        first = run_alerts(spec, H, settings)
        assert first["failed"] == 2  # both channels failed this run

        monkeypatch.setenv(
            "AIRFLOW_CONN_MW_SEC_HOOK",
            json.dumps({"conn_type": "http", "host": f"{recv.url}/hook/{HOOK_SECRET}"}),
        )
        write_hour(spec, H + timedelta(hours=1))
        run_alerts(spec, H + timedelta(hours=1), settings)
        assert len(recv.received(f"/hook/{HOOK_SECRET}")) == 1  # delivered in the end
        assert [r.answered for r in recv.received("/services")] == [500, 200]

    ledger = table(spec, "SELECT * FROM mw_notifications")
    assert set(ledger["state"]) == {"sent"}
    stored = ledger.to_csv() + table(spec, "SELECT * FROM mw_notification_attempts").to_csv()
    written = "".join(p.read_text() for p in reports.rglob("*.md"))
    assert not table(spec, "SELECT ok FROM mw_notification_attempts")["ok"].all()
    logs = all_logs.text()
    assert all_logs.records  # the run did log
    for secret in (HOOK_SECRET, SLACK_SECRET):
        assert secret not in stored
        assert secret not in written
        assert secret not in logs
        for r in all_logs.records:
            assert secret not in r.getMessage()
