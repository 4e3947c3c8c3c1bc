"""The generic webhook target and target construction from connections, against a receiver
on 127.0.0.1 that answers with the status code a test asks for."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from modelwatch.config import RemediationConfig, WebhookTargetConfig
from modelwatch.remediation.targets import (
    DISPATCHED,
    FAILED,
    ConnectionFields,
    TargetError,
    build_target,
    target_connection,
)
from modelwatch.remediation.targets.log import LogTarget
from modelwatch.remediation.targets.webhook import WebhookTarget

REQUEST = {
    "request_id": "m1:20261101T09:rollback",
    "model_id": "m1",
    "hour": "2026-11-01T09:00:00",
    "action": "rollback",
    "from_replicas": None,
    "to_replicas": None,
    "reason": "errors after v7",
    "evidence": {"from_version": "v7", "to_version": "v6"},
}


@pytest.fixture
def receiver() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"code": 202, "seen": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state["seen"].append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(state["code"])
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hooks/remediate"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def hook(url: str, token: str | None = "tok") -> WebhookTarget:
    conn = ConnectionFields(conn_id="w", conn_type="http", password=token, extra={"url": url})
    return WebhookTarget(conn, WebhookTargetConfig(timeout_seconds=5))


def test_posts_the_request_with_its_idempotency_key(receiver) -> None:
    outcome = hook(receiver["url"]).apply(REQUEST)
    assert (outcome.status, outcome.detail) == (DISPATCHED, "HTTP 202")
    (seen,) = receiver["seen"]
    assert seen["path"] == "/hooks/remediate"
    assert seen["headers"]["Idempotency-Key"] == "m1:20261101T09:rollback"
    assert seen["headers"]["Authorization"] == "Bearer tok"
    assert seen["headers"]["Content-Type"] == "application/json"
    assert json.loads(seen["body"]) == REQUEST


@pytest.mark.parametrize(
    ("code", "status", "permanent"),
    [
        (409, FAILED, False),  # a conflict that does not say this request was applied
        (400, FAILED, True),
        (403, FAILED, True),
        (429, FAILED, False),
        (503, FAILED, False),
    ],
)
def test_status_codes(receiver, code: int, status: str, permanent: bool) -> None:
    receiver["code"] = code
    outcome = hook(receiver["url"], token=None).apply(REQUEST)
    assert (outcome.status, outcome.permanent) == (status, permanent)
    assert "Authorization" not in receiver["seen"][0]["headers"]


def test_an_unreachable_receiver_is_retried() -> None:
    outcome = hook("http://127.0.0.1:9/x").apply(REQUEST)
    assert outcome.status == FAILED and not outcome.permanent
    assert outcome.detail.startswith("unreachable")


def test_connection_urls() -> None:
    assert ConnectionFields("c", host="hooks.internal", schema="http", port=8080).url() == (
        "http://hooks.internal:8080"
    )
    assert ConnectionFields("c", host="https://k8s:6443/").url() == "https://k8s:6443"
    assert ConnectionFields("c", host="k8s.internal").url() == "https://k8s.internal"
    with pytest.raises(TargetError, match="has no host"):
        ConnectionFields("c").url()


def test_targets_come_from_connections_in_the_environment(monkeypatch, receiver) -> None:
    cfg = RemediationConfig()
    assert isinstance(build_target("log", cfg), LogTarget)
    with pytest.raises(TargetError, match="AIRFLOW_CONN_MODELWATCH_REMEDIATION_WEBHOOK"):
        build_target("webhook", cfg)
    conn = json.dumps({"conn_type": "http", "password": "t0k", "extra": {"url": receiver["url"]}})
    monkeypatch.setenv("AIRFLOW_CONN_MODELWATCH_REMEDIATION_WEBHOOK", conn)
    target = build_target("webhook", cfg)
    assert target.apply(REQUEST).status == DISPATCHED
    assert receiver["seen"][0]["headers"]["Authorization"] == "Bearer t0k"
    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELWATCH_KUBERNETES", "kubernetes://:tok@k8s.internal:6443/?namespace=ml"
    )
    k8s = target_connection("modelwatch_kubernetes")
    assert (k8s.host, k8s.port, k8s.password, k8s.extra) == (
        "k8s.internal",
        6443,
        "tok",
        {"namespace": "ml"},
    )
    with pytest.raises(TargetError, match="unknown remediation target"):
        build_target("pager", cfg)
