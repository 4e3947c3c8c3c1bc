"""The webhook target's fault catalogue, through the outbox's real dispatch path.

Each fault is served by a real HTTP receiver on loopback that behaves like an idempotent
remediation endpoint (one action per `Idempotency-Key`; a retry of an applied key is answered
409 `{"request_id": ..., "status": "applied"}`). Each test records the outcome of the first
dispatch, clears the fault, lets a later run dispatch again and checks on
`mw_remediation_requests` / `mw_remediation_events` and the receiver that the request
converged with at most one action.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelwatch.config import RemediationConfig, Settings, WebhookTargetConfig
from modelwatch.remediation import outbox
from modelwatch.remediation import states as rq
from modelwatch.remediation.targets import ConnectionFields
from modelwatch.remediation.targets.webhook import WebhookTarget
from modelwatch.run import RunMode
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run, make_warehouse

HOUR = datetime(2026, 11, 1, 9)
LIVE = RunMode("manual", notify=False, dry_run=False)
MODELS = ["m1"]
KEY = "m1:20261101T09:rollback"
TOKEN = "s3cret"


class Receiver:
    """A remediation endpoint on loopback. `fault` makes it answer the next POSTs with one
    fault ("redirect", "403", "409", "429", "503", "timeout") until it is cleared (None)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.fault: str | None = None
        self.redirect_to = ""
        self.seen: list[dict[str, Any]] = []  # every request: method, path, headers
        self.applied: list[str] = []  # the actions taken, one per key
        self.arrived = threading.Event()  # a timed-out request reached the receiver
        self.release = threading.Event()  # lets a held (timed-out) answer go
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def answer(self, code: int, body: dict[str, Any] | None = None, **hdrs: str) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                for k, v in hdrs.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def note(self, method: str) -> None:
                seen = {"method": method, "path": self.path, "headers": dict(self.headers)}
                rec.seen.append(seen)

            def do_GET(self) -> None:
                self.note("GET")
                self.answer(200)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["Idempotency-Key"]
                self.note("POST")
                fault = rec.fault
                if fault == "redirect":
                    return self.answer(302, Location=rec.redirect_to)
                if fault in ("403", "503"):
                    return self.answer(int(fault))
                if fault == "429":
                    return self.answer(429, **{"Retry-After": "60"})
                if fault == "409":
                    return self.answer(409, {"error": "a rollout of m1 is in progress"})
                if key in rec.applied:
                    return self.answer(409, {"request_id": key, "status": "applied"})
                rec.applied.append(key)
                if fault == "timeout":  # acts, but answers only after the client gave up
                    rec.arrived.set()
                    rec.release.wait(30)
                with contextlib.suppress(OSError):  # the timed-out client is gone
                    self.answer(202)

        self.server = ThreadingHTTPServer((host, 0), Handler, bind_and_activate=False)
        self.server.server_bind()
        host, port = self.server.server_address[:2]
        self.url = f"http://{host}:{port}/remediate"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def listen(self) -> None:
        self.server.server_activate()
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        started = self.thread.is_alive()
        if started:
            self.server.shutdown()
        self.server.server_close()
        if started:
            self.thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    try:
        yield rec
    finally:
        rec.stop()


@pytest.fixture
def spec(tmp_path: Path):
    spec = make_warehouse(f"duckdb:///{tmp_path}/faults.duckdb")
    row = {
        "request_id": KEY,
        "model_id": "m1",
        "hour": HOUR,
        "action": "rollback",
        "mode": "live",
        "status": rq.APPROVED,
        "status_reason": "approved by alice in Airflow",
        "reason": "errors after v7",
        "evidence": "{}",
        "score": 0.99,
        "attempts": 0,
        "decided_by": "alice",
    }
    with open_warehouse(spec) as wh:
        wh.insert(outbox.REQUESTS, rq.normalise(pd.DataFrame([row])))
    return spec


SETTINGS = Settings(
    remediation=RemediationConfig(
        dry_run=False, target="webhook", webhook=WebhookTargetConfig(timeout_seconds=0.5)
    )
)


def dispatch(spec, receiver: Receiver, hours_later: int = 0) -> dict[str, Any]:
    """The dispatch step of the run of HOUR + `hours_later` (a later run retries)."""
    hour = HOUR + timedelta(hours=hours_later)
    run = make_run(hour, spec, SETTINGS, LIVE, MODELS, f"manual__{hours_later}")
    conn = ConnectionFields("hook", "http", password=TOKEN, extra={"url": receiver.url})

    def targets(name: str) -> WebhookTarget:
        assert name == "webhook"
        return WebhookTarget(conn, SETTINGS.remediation.webhook)

    with open_warehouse(spec) as wh:
        return outbox.dispatch_due(run, wh, MODELS, targets)


def request_row(spec) -> dict[str, Any]:
    with open_warehouse(spec) as wh:
        (row,) = rq.records(rq.normalise(wh.query(f"SELECT * FROM {outbox.REQUESTS}")))
    return row


def trail(spec) -> list[tuple[str, str]]:
    with open_warehouse(spec) as wh:
        ev = wh.query(f"SELECT * FROM {outbox.EVENTS} ORDER BY seq")
    return list(zip(ev["from_status"], ev["to_status"], strict=True))


def posts(receiver: Receiver) -> int:
    return sum(s["method"] == "POST" for s in receiver.seen)


# ------------------------------------------------------------------------- permanent failures
def test_a_redirect_is_not_followed_and_the_token_stays_home(spec, receiver):
    thief = Receiver("127.0.0.2")  # another host
    thief.listen()
    try:
        receiver.listen()
        receiver.fault, receiver.redirect_to = "redirect", f"{thief.url}/steal"
        assert dispatch(spec, receiver) == {"sent": 0, "statuses": {"failed": 1}}
        row = request_row(spec)
        assert row["status"] == "failed"
        assert row["attempts"] == SETTINGS.remediation.max_attempts  # permanent: no retries
        assert row["status_reason"].startswith(
            f"webhook: HTTP 302 redirect to {thief.url}/steal not followed"
        )
        assert thief.seen == []  # neither the request nor the bearer token left for it
        receiver.fault = None  # the URL is fixed: nothing is resent on its own
        assert dispatch(spec, receiver, 1) == {"sent": 0, "statuses": {}}
        assert posts(receiver) == 1 and receiver.applied == [] and thief.seen == []
        assert trail(spec) == [("approved", "failed")]
    finally:
        thief.stop()


def test_a_403_fails_for_good(spec, receiver):
    receiver.listen()
    receiver.fault = "403"
    assert dispatch(spec, receiver) == {"sent": 0, "statuses": {"failed": 1}}
    row = request_row(spec)
    assert row["status_reason"].startswith("webhook: HTTP 403 Forbidden")
    assert row["attempts"] == SETTINGS.remediation.max_attempts
    receiver.fault = None
    assert dispatch(spec, receiver, 1) == {"sent": 0, "statuses": {}}
    assert posts(receiver) == 1 and receiver.applied == []
    assert trail(spec) == [("approved", "failed")]


# ------------------------------------------------------------------------- retried, converge
def converges(spec, receiver: Receiver, final: str = "dispatched") -> None:
    """The fault cleared: the next run's retry lands once, and only once."""
    receiver.fault = None
    assert dispatch(spec, receiver, 1)["statuses"] == {final: 1}
    row = request_row(spec)
    assert (row["status"], row["attempts"]) == (final, 2)
    assert receiver.applied == [KEY]
    assert dispatch(spec, receiver, 2) == {"sent": 0, "statuses": {}}  # nothing left to send
    assert receiver.applied == [KEY]
    assert trail(spec) == [("approved", "failed"), ("failed", final)]


def first_failure(spec, receiver: Receiver) -> str:
    assert dispatch(spec, receiver) == {"sent": 0, "statuses": {"failed": 1}}
    row = request_row(spec)
    assert (row["status"], row["attempts"]) == ("failed", 1)  # retried by later runs
    return row["status_reason"]


def test_a_409_conflict_is_a_failure_retried_later(spec, receiver):
    receiver.listen()
    receiver.fault = "409"
    reason = first_failure(spec, receiver)
    assert reason.startswith("webhook: HTTP 409 Conflict: conflict, not this request applied")
    assert receiver.applied == []
    converges(spec, receiver)


def test_a_409_naming_this_request_as_applied_counts_as_applied(spec, receiver):
    receiver.listen()
    receiver.applied.append(KEY)  # the receiver did it already (a lost answer)
    assert dispatch(spec, receiver) == {"sent": 1, "statuses": {"applied": 1}}
    assert request_row(spec)["status_reason"] == (
        "webhook: HTTP 409: the receiver already applied this request"
    )
    assert receiver.applied == [KEY]
    assert trail(spec) == [("approved", "applied")]


def test_a_429_is_retried_later(spec, receiver):
    receiver.listen()
    receiver.fault = "429"
    reason = first_failure(spec, receiver)
    assert reason == "webhook: HTTP 429 Too Many Requests: retry later (Retry-After 60)"
    converges(spec, receiver)


def test_a_5xx_is_retried(spec, receiver):
    receiver.listen()
    receiver.fault = "503"
    assert first_failure(spec, receiver) == "webhook: HTTP 503 Service Unavailable"
    converges(spec, receiver)


def test_a_refused_connection_is_retried(spec, receiver):
    # bound but not listening yet: connections are refused
    assert first_failure(spec, receiver).startswith("webhook: unreachable: ")
    assert receiver.seen == []
    receiver.listen()
    converges(spec, receiver)


def test_a_timeout_is_retried_and_the_receiver_dedups_it(spec, receiver):
    receiver.listen()
    receiver.fault = "timeout"
    assert first_failure(spec, receiver).startswith("webhook: unreachable: ")
    assert receiver.arrived.wait(10)  # it did reach the receiver, which acted
    receiver.release.set()
    # the retry carries the same key: the receiver says it applied it, no second action
    converges(spec, receiver, final="applied")


def test_connection_refused_really_is_refused(receiver):
    """The refused case's premise: a bound, non-listening port refuses connections."""
    host, port = receiver.server.server_address[:2]
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, port), 2):
        pass
