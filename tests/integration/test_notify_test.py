"""`modelwatch notify test --receiver NAME`: one marked test notification through the
receiver's real channel code (a real Alertmanager; the loopback webhook receiver that speaks
Alertmanager's webhook contract), its result printed, nothing written anywhere: the warehouse
connection points at a file that must still not exist afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelwatch.alerting.channels import TEST_MODEL
from modelwatch.cli.main import main
from tests.integration.alert_world import FAIL, receiver
from tests.integration.test_channels_servers import alertmanager, free_port  # noqa: F401


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings with every kind of receiver, and a warehouse that is never to be created."""
    never = tmp_path / "never" / "w.duckdb"
    monkeypatch.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{never}")
    path = tmp_path / "modelwatch.yaml"
    path.write_text(
        "alerts:\n  receivers: [log, am, hook, opt]\n  channels:\n"
        "    am: {type: alertmanager, conn_id: mw_nt_am, timeout_s: 5}\n"
        "    hook: {type: webhook, conn_id: mw_nt_hook, timeout_s: 2}\n"
        "    opt: {type: webhook, conn_id: mw_nt_nowhere, optional: true}\n"
    )
    yield ["--config", str(path)]
    assert not never.parent.exists()


def test_a_test_alert_reaches_alertmanager_marked_as_a_test(
    setup,
    alertmanager,  # noqa: F811
    monkeypatch,
    capsys,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MW_NT_AM", alertmanager.url)
    assert main([*setup, "notify", "test", "--receiver", "am"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("receiver am (alertmanager): test notification delivered")
    [got] = [a for a in alertmanager.alerts() if a["labels"]["model_id"] == TEST_MODEL]
    assert got["labels"]["kind"] == "test" and got["labels"]["severity"] == "info"
    assert got["annotations"]["summary"].startswith("TEST notification from modelwatch")


def test_a_webhook_gets_the_test_and_a_failing_one_says_so(setup, monkeypatch, capsys) -> None:
    with receiver() as hook:
        url = f"{hook.url}/hooks/SECRET-TOKEN-123"
        monkeypatch.setenv(
            "AIRFLOW_CONN_MW_NT_HOOK", json.dumps({"conn_type": "http", "host": url})
        )
        assert main([*setup, "notify", "test", "--receiver", "hook", "--json"]) == 0
        ok = json.loads(capsys.readouterr().out)
        [req] = hook.received("/hooks/")
        hook.then("/hooks/", FAIL)
        assert main([*setup, "notify", "test", "--receiver", "hook"]) == 1
    assert ok == {
        "receiver": "hook",
        "type": "webhook",
        "sent": True,
        "detail": "webhook accepted 1 alert event(s)",
    }
    assert [a["labels"]["model_id"] for a in req.body["alerts"]] == [TEST_MODEL]
    assert "TEST" in req.body["alerts"][0]["annotations"]["summary"]
    failed = capsys.readouterr().out.splitlines()
    assert failed == ["receiver hook (webhook): test notification FAILED: HTTP 500: internal error"]


def test_an_unreachable_receiver_fails_without_leaking_its_url(setup, monkeypatch, capsys):
    url = f"http://127.0.0.1:{free_port()}/hooks/SECRET-TOKEN-123"
    monkeypatch.setenv("AIRFLOW_CONN_MW_NT_HOOK", json.dumps({"conn_type": "http", "host": url}))
    assert main([*setup, "notify", "test", "--receiver", "hook"]) == 1
    got = capsys.readouterr()
    assert got.out.startswith("receiver hook (webhook): test notification FAILED: ")
    assert len(got.out.splitlines()) == 1
    assert "SECRET-TOKEN-123" not in got.out + got.err


def test_the_log_receiver_an_optional_one_and_a_typo(setup, capsys) -> None:
    assert main([*setup, "notify", "test", "--receiver", "log"]) == 0
    got = capsys.readouterr()
    assert got.out == "receiver log (log): test notification delivered: logged 1 event(s)\n"
    assert "TEST notification from modelwatch" in got.err  # the log channel's own line
    assert main([*setup, "notify", "test", "--receiver", "opt"]) == 1
    assert "connection mw_nt_nowhere is not defined: runs skip it" in capsys.readouterr().out
    assert main([*setup, "notify", "test", "--receiver", "hoook"]) == 2
    assert "did you mean 'hook'" in capsys.readouterr().err
