"""Each channel against a real server on loopback, and the fixtures that run those servers.

Alertmanager is the real Debian binary with its own config and port; email goes to a real SMTP
server (aiosmtpd); Slack and the generic webhook go to a local HTTP receiver that implements
their documented contracts (Slack: JSON with `text`/`blocks`, 200 "ok", errors as non-200;
webhook: Alertmanager's webhook payload version 4, any 2xx). The receiver can be told to answer
500 or to hang past the client's timeout. No test waits on a clock: readiness is polled with a
deadline, and a hung request is released through an Event.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from modelwatch.alerting.channels import build
from modelwatch.alerting.lifecycle import FIRING, RESOLVED, AlertEvent
from modelwatch.config import ChannelConfig
from tests.integration.alert_world import serving

AM_CONN = "AIRFLOW_CONN_MODELWATCH_ALERTMANAGER"
HOUR = datetime(2026, 11, 1, 9)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, deadline_s: float = 60.0) -> None:
    """Poll a readiness URL until it answers 200 or the deadline passes."""
    end = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(0.1)  # polling interval of a readiness probe, not synchronisation
    raise RuntimeError(f"{url} not ready after {deadline_s} s: {last}")


# ------------------------------------------------------------------------------- Alertmanager
def alertmanager_binary() -> str | None:
    for name in ("alertmanager", "prometheus-alertmanager"):
        found = shutil.which(name)
        if found:
            return found
    return (
        "/usr/bin/prometheus-alertmanager"
        if Path("/usr/bin/prometheus-alertmanager").exists()
        else None
    )


@dataclass
class Alertmanager:
    url: str

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as r:
            return json.loads(r.read())

    def by_alert_id(self) -> dict[str, dict[str, Any]]:
        return {a["labels"]["alert_id"]: a for a in self.alerts()}


def require_binary(binary: str | None, package: str) -> str:
    """A server binary: skipped locally without it, a failure in CI (where .ci/services.sh
    installs it)."""
    if binary is None:
        reason = f"{package} binary not found (apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


@contextmanager
def loopback_server(argv: list[str], port: int, log_path: Path) -> Iterator[str]:
    """Run a Prometheus-family server (listening on 127.0.0.1:`port`) until the block ends;
    yields its URL once `/-/ready` answers."""
    log = log_path.open("w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/-/ready")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alertmanager]:
    """A real Alertmanager on a free loopback port."""
    binary = require_binary(alertmanager_binary(), "prometheus-alertmanager")
    home = tmp_path_factory.mktemp("alertmanager")
    (home / "alertmanager.yml").write_text(
        "route:\n  receiver: blackhole\n  group_wait: 1h\nreceivers:\n  - name: blackhole\n"
    )
    port = free_port()
    argv = [
        binary,
        f"--config.file={home / 'alertmanager.yml'}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with loopback_server(argv, port, home / "am.log") as url:
        yield Alertmanager(url)


# ------------------------------------------------------------------------------------- SMTP
@dataclass
class Mailbox:
    port: int
    messages: list[Message] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()  # returns once the server accepts connections
    try:
        yield box
    finally:
        controller.stop()


# ---------------------------------------------------------------------- Slack/webhook receiver
@dataclass
class Receiver:
    """A loopback HTTP server speaking the Slack incoming-webhook and JSON-webhook contracts.

    The next `fail[prefix]` requests to a path starting with `prefix` are answered 500, the
    next `hang[prefix]` ones are held until `release` is set (the client times out first).
    Only requests answered 2xx are in `accepted`."""

    port: int
    accepted: list[tuple[str, Any]] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    hang: dict[str, int] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.accepted.clear()
            self.refused.clear()
            self.fail.clear()
            self.hang.clear()

    def _take(self, counters: dict[str, int], path: str) -> bool:
        for prefix, n in counters.items():
            if n > 0 and path.startswith(prefix):
                counters[prefix] = n - 1
                return True
        return False

    def bodies(self, path_prefix: str) -> list[Any]:
        return [b for p, b in self.accepted if p.startswith(path_prefix)]


def _slack_error(body: Any) -> tuple[int, str] | None:
    """Slack's documented webhook errors for malformed payloads."""
    if not isinstance(body, dict):
        return 400, "invalid_payload"
    text, blocks = body.get("text"), body.get("blocks")
    if not (isinstance(text, str) and text) and not blocks:
        return 400, "no_text"
    if blocks is not None and (
        not isinstance(blocks, list)
        or len(blocks) > 50
        or not all(isinstance(b, dict) and "type" in b for b in blocks)
    ):
        return 400, "invalid_blocks"
    return None


def _webhook_error(body: Any) -> tuple[int, str] | None:
    if not isinstance(body, dict) or body.get("version") != "4":
        return 400, "not an Alertmanager webhook v4 payload"
    for a in body.get("alerts", []):
        if a.get("status") not in ("firing", "resolved") or "alertname" not in a.get("labels", {}):
            return 400, "bad alert"
    return None


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                hang = state._take(state.hang, self.path)
                fail = not hang and state._take(state.fail, self.path)
            if hang:
                state.release.wait(60)
                return  # the client gave up long ago; answer nothing
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if self.path.startswith("/services/"):
                err = _slack_error(body)
                ok_text = "ok"
            elif self.path.startswith("/hook"):
                err = _webhook_error(body)
                ok_text = "{}"
            else:
                err = (404, "no_service")
            if fail:
                err = (500, "rollup_error")
            code, text = err if err else (200, ok_text)
            with state.lock:
                if err:
                    state.refused.append((self.path, code))
                else:
                    state.accepted.append((self.path, body))
            data = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with serving(Handler, state.port, state.release):
        yield state


def slack_conn(receiver: Receiver) -> str:
    return json.dumps(
        {"conn_type": "slackwebhook", "password": f"{receiver.url}/services/T000/B000/XXXX"}
    )


def webhook_conn(receiver: Receiver) -> str:
    return json.dumps({"conn_type": "http", "host": f"{receiver.url}/hook"})


def smtp_conn(box: Mailbox) -> str:
    return (
        f"smtp://127.0.0.1:{box.port}?disable_tls=true&disable_ssl=true"
        "&from_email=modelwatch%40example.org&timeout=5&retry_limit=0"
    )


# ---------------------------------------------------------------------------------- the tests
EXPLANATION = json.dumps(
    [
        {"metric": "latency_p99_ms", "observed": 840.0, "baseline": 120.0, "robust_z": 12.3},
        {"metric": "request_rate", "observed": 310.0, "baseline": 100.0, "robust_z": 6.0},
    ]
)


def ev(model: str, event: str = FIRING, resolved: datetime | None = None) -> AlertEvent:
    return AlertEvent(
        f"{model}:anomaly:20261101T08",
        model,
        "anomaly",
        event,
        "warning",
        HOUR,
        f"{model}: anomaly score 0.990",
        opened_hour=datetime(2026, 11, 1, 8),
        resolved_hour=resolved,
        score=0.99,
        detail=EXPLANATION,
        label_severity="warning",
        labels={"model_id": model, "team": "ads", "tier": "critical"},
        links={"runbook_url": "https://runbooks.example.org/x", "run_url": "http://af/run"},
    )


def test_alertmanager_receives_firing_then_resolve(alertmanager: Alertmanager, monkeypatch):
    monkeypatch.setenv(AM_CONN, alertmanager.url)
    am = build("am", ChannelConfig(type="alertmanager", conn_id="modelwatch_alertmanager"))
    got = am.send([ev("unit-a"), ev("unit-b")])
    assert got.ok, got.detail
    alerts = alertmanager.by_alert_id()
    assert set(alerts) >= {"unit-a:anomaly:20261101T08", "unit-b:anomaly:20261101T08"}
    labels = alerts["unit-a:anomaly:20261101T08"]["labels"]
    assert labels == {
        "alertname": "ModelwatchAnomaly",
        "alert_id": "unit-a:anomaly:20261101T08",
        "model_id": "unit-a",
        "kind": "anomaly",
        "severity": "warning",
        "source": "modelwatch",
        "team": "ads",
        "tier": "critical",
    }
    notes = alerts["unit-a:anomaly:20261101T08"]["annotations"]
    assert "latency_p99_ms: 840 vs baseline 120" in notes["top_metrics"]
    assert notes["runbook_url"] == "https://runbooks.example.org/x"
    assert alerts["unit-a:anomaly:20261101T08"]["startsAt"].startswith("2026-11-01T08:00:00")

    assert am.send([ev("unit-a", RESOLVED, resolved=datetime(2026, 11, 1, 11))]).ok
    left = alertmanager.by_alert_id()
    assert "unit-a:anomaly:20261101T08" not in left
    assert "unit-b:anomaly:20261101T08" in left


def test_alertmanager_down_is_a_failed_delivery_not_an_exception(monkeypatch):
    monkeypatch.setenv(AM_CONN, f"http://127.0.0.1:{free_port()}")
    am = build("am", ChannelConfig(type="alertmanager", conn_id="modelwatch_alertmanager"))
    with pytest.raises(Exception, match="onnect"):
        am.send([ev("unit-c")])  # deliver() turns this into a failed row


def test_slack_webhook_contract(receiver: Receiver, monkeypatch):
    receiver.reset()
    monkeypatch.setenv("AIRFLOW_CONN_MW_SLACK", slack_conn(receiver))
    slack = build("slack", ChannelConfig(type="slack", conn_id="mw_slack", timeout_s=2))
    assert slack.send([ev("unit-a"), ev("unit-b", RESOLVED, datetime(2026, 11, 1, 9))]).ok
    (body,) = receiver.bodies("/services/T000/B000/XXXX")
    assert "unit-a" in body["text"] and "RESOLVED" in body["text"]
    assert body["blocks"][0]["type"] == "header"
    assert any("latency_p99_ms: 840" in b.get("text", {}).get("text", "") for b in body["blocks"])


def test_slack_500_and_timeout_raise(receiver: Receiver, monkeypatch):
    receiver.reset()
    monkeypatch.setenv("AIRFLOW_CONN_MW_SLACK", slack_conn(receiver))
    slack = build("slack", ChannelConfig(type="slack", conn_id="mw_slack", timeout_s=1))
    receiver.fail["/services"] = 1
    with pytest.raises(Exception, match="500"):
        slack.send([ev("unit-a")])
    receiver.hang["/services"] = 5  # the SDK may retry a connection error once
    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
        slack.send([ev("unit-a")])
    assert receiver.accepted == []


def test_webhook_contract_500_and_timeout(receiver: Receiver, monkeypatch):
    receiver.reset()
    monkeypatch.setenv("AIRFLOW_CONN_MW_HOOK", webhook_conn(receiver))
    hook = build("hook", ChannelConfig(type="webhook", conn_id="mw_hook", timeout_s=1))
    assert hook.send([ev("unit-a"), ev("unit-b", RESOLVED, datetime(2026, 11, 1, 9))]).ok
    (body,) = receiver.bodies("/hook")
    assert body["version"] == "4" and body["receiver"] == "hook"
    assert [a["status"] for a in body["alerts"]] == ["firing", "resolved"]
    assert body["commonLabels"]["team"] == "ads"
    receiver.fail["/hook"] = 1
    refused = hook.send([ev("unit-a")])
    assert not refused.ok and refused.detail.startswith("HTTP 500")
    receiver.hang["/hook"] = 1
    with pytest.raises(Exception, match=r"(?i)timed? ?out"):
        hook.send([ev("unit-a")])
    assert len(receiver.bodies("/hook")) == 1


def test_email_through_smtp_with_plot_attached(smtp_server: Mailbox, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MW_SMTP", smtp_conn(smtp_server))
    png = tmp_path / "p.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    e = ev("unit-a")
    e = AlertEvent(**{**e.__dict__, "links": {**e.links, "plot_path": str(png)}})
    mail = build("mail", ChannelConfig(type="email", conn_id="mw_smtp", to=("oncall@example.org",)))
    before = len(smtp_server.messages)
    assert mail.send([e]).ok
    assert len(smtp_server.messages) == before + 1
    msg = smtp_server.messages[-1]
    assert smtp_server.recipients[-1] == ["oncall@example.org"]
    assert msg["Subject"] == "[modelwatch WARNING] 1 firing: unit-a"
    parts = {p.get_content_type(): p for p in msg.walk()}
    assert "text/html" in parts
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "latency_p99_ms: 840 vs baseline 120" in html
    attached = [p for p in msg.walk() if p.get_filename() == "p.png"]
    assert len(attached) == 1
