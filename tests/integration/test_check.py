"""`modelwatch check` against real parts: a DuckDB warehouse, a real Alertmanager, a loopback
webhook receiver, a port nothing listens on, and Airflow metadata databases made by
`airflow db migrate` in Airflow homes of their own (subprocesses, so each starts clean)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modelwatch.cli.main import main
from tests.conftest import ROOT
from tests.integration.alert_world import receiver
from tests.integration.test_channels_servers import alertmanager, free_port  # noqa: F401
from tests.integration.test_cli import WH_ENV, cli, config, template, wh_file  # noqa: F401


def findings(out: str) -> dict[str, dict]:
    doc = json.loads(out)
    return {f["check"]: f for f in doc["findings"]} | {"ok": {"state": doc["ok"]}}


def test_each_channel_is_checked_without_sending(
    wh_file,  # noqa: F811
    alertmanager,  # noqa: F811
    tmp_path,
    monkeypatch,
    capsys,
) -> None:
    closed = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_MW_CK_AM", alertmanager.url)
    monkeypatch.setenv("AIRFLOW_CONN_MW_CK_AM_DOWN", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AIRFLOW_CONN_MW_CK_MAIL", f"smtp://127.0.0.1:{closed}")
    with receiver() as hook:
        url = f"{hook.url}/hooks/TOKEN12345"  # the URL as host, as docs/alerting.md says
        monkeypatch.setenv(
            "AIRFLOW_CONN_MW_CK_HOOK", json.dumps({"conn_type": "http", "host": url})
        )
        path = config(
            tmp_path,
            "alerts:\n  receivers: [log, am, am_down, hook, mail, slack, opt]\n  channels:\n"
            "    am: {type: alertmanager, conn_id: mw_ck_am, timeout_s: 5}\n"
            "    am_down: {type: alertmanager, conn_id: mw_ck_am_down, timeout_s: 2}\n"
            "    hook: {type: webhook, conn_id: mw_ck_hook, timeout_s: 2}\n"
            "    mail: {type: email, conn_id: mw_ck_mail, to: [a@example.org], timeout_s: 2}\n"
            "    slack: {type: slack, conn_id: mw_ck_nowhere_slack}\n"
            "    opt: {type: webhook, conn_id: mw_ck_nowhere_opt, optional: true}\n",
        )
        assert main(["--config", str(path), "check", "--json"]) == 1
        got = findings(capsys.readouterr().out)
        assert hook.requests == []  # reached, never sent to
    assert alertmanager.alerts() == []
    assert got["receiver am"]["state"] == "ok", got["receiver am"]
    assert got["receiver hook"]["state"] == "ok"
    assert got["receiver opt"]["state"] == "skipped"
    assert got["receiver am_down"]["state"] == "problem"
    assert got["receiver mail"]["state"] == "problem"
    assert f"127.0.0.1:{closed} does not answer" in got["receiver mail"]["message"]
    assert got["receiver slack"] == {
        "check": "receiver slack",
        "state": "problem",
        "message": "connection mw_ck_nowhere_slack is not defined",
    }
    assert got["warehouse"]["state"] == got["source"]["state"] == "ok"
    assert "TOKEN12345" not in json.dumps(got)


def test_with_the_defaults_and_only_the_warehouse_check_exits_0(wh_file, tmp_path) -> None:  # noqa: F811
    """No settings file, no connection but the warehouse's, no metadata database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update({WH_ENV: f"duckdb:///{wh_file}", "AIRFLOW_HOME": str(tmp_path / "airflow")})
    env.pop("MODELWATCH_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "modelwatch.cli.main", "check"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT / "include")},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "info     airflow: no metadata database configured" in done.stdout
    assert not [line for line in done.stdout.splitlines() if line.startswith("problem")]


def airflow(home: Path, *args: str) -> None:
    binary = Path(sys.executable).with_name("airflow")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    }
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_with_a_metadata_database_the_pool_and_the_dags_are_checked(wh_file, tmp_path):  # noqa: F811
    home = tmp_path / "airflow"
    airflow(home, "db", "migrate")
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags")}
    before = cli("check", "--json", env=env)
    assert before.returncode == 1, before.stderr
    got = findings(before.stdout)
    assert got["airflow pool"]["state"] == "problem"
    assert "pool modelwatch_warehouse does not exist" in got["airflow pool"]["message"]
    assert got["dag model_health"]["state"] == "problem"
    airflow(home, "pools", "set", "modelwatch_warehouse", "1", "warehouse writers")
    airflow(home, "dags", "reserialize")
    after = cli("check", "--json", env=env)
    assert after.returncode == 0, after.stdout
    got = findings(after.stdout)
    assert got["airflow pool"]["message"] == "pool modelwatch_warehouse: 1 slot(s)"
    assert got["dag model_health"]["state"] == got["dag model_training"]["state"] == "ok"
