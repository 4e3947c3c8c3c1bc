"""Self-metrics against a real Pushgateway (Debian's `prometheus-pushgateway`, started on a free
loopback port), read back from its `/metrics` with `prometheus_client`'s own text parser."""

from __future__ import annotations

import shutil
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelwatch.cli.main import main
from modelwatch.pipeline.runner import run_local
from modelwatch.pipeline.selfmetrics import METRICS, push_run_metrics
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run, make_warehouse
from tests.integration.test_channels_servers import free_port, loopback_server, require_binary

CONN = "AIRFLOW_CONN_MODELWATCH_PUSHGATEWAY"
SIX = (
    "modelwatch_models_scored",
    "modelwatch_models_quarantined",
    "modelwatch_alerts_open",
    "modelwatch_notifications_failed_total",
    "modelwatch_run_duration_seconds",
    "modelwatch_last_success_timestamp_seconds",
)


def pushgateway_binary() -> str | None:
    return shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")


class Pushgateway:
    def __init__(self, url: str) -> None:
        self.url = url

    def samples(self) -> dict[tuple[str, str], float]:
        """(metric, kind) -> value of every modelwatch sample on `/metrics`."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as r:
            text = r.read().decode()
        out = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name.startswith("modelwatch_") and s.labels.get("job") == "modelwatch":
                    out[(s.name, s.labels["kind"])] = s.value
        return out

    def wipe(self) -> None:
        req = urllib.request.Request(f"{self.url}/api/v1/admin/wipe", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 202


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pushgateway]:
    """A real Pushgateway on a free loopback port (its admin API on, to wipe it per test)."""
    binary = require_binary(pushgateway_binary(), "prometheus-pushgateway")
    port = free_port()
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--web.enable-admin-api"]
    log = tmp_path_factory.mktemp("pushgateway") / "pgw.log"
    with loopback_server(argv, port, log) as url:
        yield Pushgateway(url)


@pytest.fixture
def pushgateway(gateway_server: Pushgateway, monkeypatch: pytest.MonkeyPatch) -> Pushgateway:
    """The Pushgateway, empty, and the connection to it defined the way the CLI reads it."""
    gateway_server.wipe()
    monkeypatch.setenv(CONN, gateway_server.url)
    return gateway_server


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, fleet):
    return make_warehouse(f"duckdb:///{tmp_path_factory.mktemp('sm')}/w.duckdb", fleet)


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


def runs_row(spec, hour) -> dict:
    with open_warehouse(spec) as wh:
        return wh.query("SELECT * FROM mw_runs WHERE hour = :h", {"h": hour}).iloc[0].to_dict()


def test_one_cli_run_pushes_its_figures(pushgateway, warehouse, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{warehouse.duckdb_path}")
    before = time.time()
    assert main(["run", "--hour", f"{at(9):%Y-%m-%dT%H:%MZ}"]) == 0  # the old spelling works
    after = time.time()
    got = pushgateway.samples()
    row = runs_row(warehouse, at(9))
    assert {name for name, kind in got if kind == "manual"} >= set(SIX)
    assert got[("modelwatch_models_scored", "manual")] == row["models_scored"] > 0
    assert got[("modelwatch_models_quarantined", "manual")] == row["models_quarantined"]
    assert got[("modelwatch_alerts_open", "manual")] == row["alerts_firing"]
    assert got[("modelwatch_notifications_failed_total", "manual")] == 0
    assert before <= got[("modelwatch_last_success_timestamp_seconds", "manual")] <= after
    assert 0 < got[("modelwatch_run_duration_seconds", "manual")] <= after - before
    assert got[("modelwatch_run_hour_timestamp_seconds", "manual")] == _utc_seconds(at(9))
    assert capsys.readouterr().out.startswith(f"{at(9):%Y-%m-%d %H}:00")


def _utc_seconds(naive_utc) -> float:
    return naive_utc.replace(tzinfo=UTC).timestamp()


def test_each_kind_of_run_keeps_its_own_group(
    gateway_server, warehouse, settings, monkeypatch
) -> None:
    monkeypatch.delenv(CONN, raising=False)
    rows = {h: runs_row_or_run(warehouse, settings, at(h)) for h in (3, 4, 5, 6)}
    gateway_server.wipe()
    monkeypatch.setenv(CONN, gateway_server.url)
    for kind, hour in (("backfill", at(3)), ("whatif", at(4)), ("scheduled", at(5))):
        run = make_run(hour, warehouse, settings, RunMode(kind, False, True), None, f"{kind}__t")
        assert push_run_metrics(run, rows[hour.hour], started=time.time() - 7.0)
    got = gateway_server.samples()
    kinds = {kind for _, kind in got}
    assert kinds == {"backfill", "whatif", "scheduled"}
    for kind, hour in (("backfill", at(3)), ("whatif", at(4)), ("scheduled", at(5))):
        assert got[("modelwatch_run_hour_timestamp_seconds", kind)] == _utc_seconds(hour)
        assert 7.0 <= got[("modelwatch_run_duration_seconds", kind)] < 60.0
    # a second push of a kind replaces its group, leaving the others as they were
    run = make_run(
        at(6), warehouse, settings, RunMode("scheduled", True, True), None, "scheduled__t2"
    )
    assert push_run_metrics(run, rows[6])
    again = gateway_server.samples()
    assert again[("modelwatch_run_hour_timestamp_seconds", "scheduled")] == _utc_seconds(at(6))
    assert ("modelwatch_run_duration_seconds", "scheduled") not in again  # no start known
    assert again[("modelwatch_run_hour_timestamp_seconds", "backfill")] == _utc_seconds(at(3))


def runs_row_or_run(spec, settings, hour) -> dict:
    with open_warehouse(spec) as wh:
        have = wh.query("SELECT COUNT(*) AS n FROM mw_runs WHERE hour = :h", {"h": hour})
    if int(have["n"].iloc[0]) == 0:
        run_local(hour, spec, settings)
    return runs_row(spec, hour)


def test_failed_attempts_of_the_run_are_counted(pushgateway, warehouse, tmp_path, monkeypatch):
    """A receiver that refuses every connection: the run's failed attempts are pushed."""
    closed = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_MW_SM_HOOK", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{warehouse.duckdb_path}")
    config = tmp_path / "modelwatch.yaml"
    config.write_text(
        "alerts:\n  receivers: [log, hook]\n  plots: false\n"
        "  channels: {hook: {type: webhook, conn_id: mw_sm_hook, timeout_s: 2}}\n"
        "  delivery: {retries: 1, backoff_s: 0}\n"
    )
    hour = f"{at(20):%Y-%m-%dT%H:%MZ}"  # model-005's silent outage opens an alert at once
    assert (
        main(["--config", str(config), "run", "--from", hour, "--model", "model-005", "--notify"])
        == 0
    )
    with open_warehouse(warehouse) as wh:
        failed = wh.query(
            "SELECT COUNT(*) AS n FROM mw_notification_attempts WHERE NOT ok AND receiver = 'hook'"
        )["n"].iloc[0]
    assert failed == 2  # the try and its one retry
    assert pushgateway.samples()[("modelwatch_notifications_failed_total", "manual")] == failed


def test_a_failed_push_is_one_warning_and_the_run_succeeds(
    gateway_server, warehouse, monkeypatch, capsys
) -> None:
    monkeypatch.setenv(CONN, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", f"duckdb:///{warehouse.duckdb_path}")
    assert main(["run", "--from", f"{at(10):%Y-%m-%dT%H:%MZ}"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1 and captured.out.startswith(f"{at(10):%Y-%m-%d %H}:00")
    warnings = [line for line in captured.err.splitlines() if "self-metrics" in line]
    assert len(warnings) == 1 and warnings[0].startswith("WARNING ")
    assert "not pushed" in warnings[0]


def test_no_connection_no_push(gateway_server, warehouse, settings, monkeypatch) -> None:
    monkeypatch.delenv(CONN, raising=False)
    gateway_server.wipe()
    run = make_run(at(9), warehouse, settings, RunMode("manual", False, True), None, "manual__x")
    assert push_run_metrics(run, runs_row_or_run(warehouse, settings, at(9))) is False
    assert gateway_server.samples() == {}


def test_every_metric_has_help_text() -> None:
    assert set(SIX) <= set(METRICS) and all(METRICS.values())
