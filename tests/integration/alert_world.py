"""Shared pieces of the alert integration tests: hand-written verdicts in a real warehouse, the
alert step run as a scheduled hour, and a loopback HTTP receiver whose faults are scripted.

The receiver speaks the JSON-webhook contract (Alertmanager webhook v4: any 2xx is accepted),
Alertmanager's `POST /api/v2/alerts` and Slack's incoming-webhook contract (200 "ok"). Each
request takes the next scripted action for its path prefix: answer 200, answer 500, redirect
elsewhere, or record the request and then hang until released (the client times out after the
server has the message). Nothing here sleeps: a hung handler waits on an Event.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd

from modelwatch.alerting.step import DeliveryFailed, alert_hour
from modelwatch.config import AlertsConfig, ChannelConfig, DeliveryConfig, Settings
from modelwatch.run import RunMode
from modelwatch.warehouse import WarehouseSpec, open_warehouse
from tests.conftest import make_run

H = datetime(2026, 11, 1, 9)
MODELS = [f"m{i:02d}" for i in range(10)]
LATENCY = json.dumps(
    [{"metric": "latency_p99_ms", "observed": 900.0, "baseline": 100.0, "robust_z": 9.0}]
)
SCHEDULED = RunMode("scheduled", notify=True, dry_run=True)

OK, FAIL, REDIRECT, HANG = "ok", "fail", "redirect", "hang"


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], port: int, release: threading.Event):
    """Serve `handler` on 127.0.0.1:`port` in a thread; on exit, free hung handlers first."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_hour(
    spec: WarehouseSpec,
    hour: datetime,
    anomalous: set[str] = frozenset(),
    no_data: set[str] = frozenset(),
    models: list[str] | None = None,
) -> None:
    """The hour's validation verdicts and scores for `models`, as the pipeline writes them."""
    scores, verdicts = [], []
    for m in MODELS if models is None else models:
        verdicts.append(
            {
                "hour": hour,
                "model_id": m,
                "status": "no_data" if m in no_data else "passed",
                "n_rows": 0 if m in no_data else 60,
                "completeness": 1.0,
                "staleness_minutes": 0.0,
                "failed_checks": "[]",
            }
        )
        scores.append(
            {
                "hour": hour,
                "model_id": m,
                "status": "no_data" if m in no_data else "scored",
                "score": 0.9995 if m in anomalous else 0.2,
                "threshold": 0.95,
                "is_anomaly": m in anomalous,
                "n_rows": 60,
                "n_train_rows": 1000,
                "top_metrics": "latency_p99_ms",
                "explanation": LATENCY if m in anomalous else "[]",
            }
        )
    with open_warehouse(spec) as wh:
        for table, rows in (("mw_validation", verdicts), ("mw_scores", scores)):
            frame = pd.DataFrame(rows)
            frame["hour"] = frame["hour"].astype("datetime64[us]")
            cols = wh.query(f"SELECT * FROM {table} LIMIT 0").columns
            for c in cols:
                if c not in frame:
                    frame[c] = None
            wh.replace(table, frame[list(cols)], "hour = :h", {"h": hour})


def hook_settings(
    receivers: dict[str, ChannelConfig], retries: int = 0, plots: bool = False
) -> Settings:
    return Settings(
        alerts=AlertsConfig(
            receivers=tuple(receivers),
            channels=receivers,
            delivery=DeliveryConfig(retries=retries, backoff_s=0.0),
            plots=plots,
        )
    )


def run_alerts(
    spec: WarehouseSpec,
    hour: datetime,
    settings: Settings,
    models: list[str] | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """The alert step of a scheduled run. When every receiver failed, the step raises after
    recording everything (the task fails); the outcome then says so (`delivery_failed`), so
    these tests can look at the rows it recorded."""
    run_id = run_id or f"scheduled__{hour:%H}"
    try:
        return alert_hour(make_run(hour, spec, settings, SCHEDULED, models, run_id))
    except DeliveryFailed as exc:
        return {**exc.outcome, "delivery_failed": str(exc)}


def table(spec: WarehouseSpec, sql: str, **params: Any) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query(sql, params)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: Any
    answered: int | None  # None: hung, never answered


@dataclass
class Receiver:
    """A loopback HTTP server with scripted faults (see the module docstring)."""

    port: int
    requests: list[Request] = field(default_factory=list)
    script: dict[str, list[str]] = field(default_factory=dict)
    redirect_to: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def then(self, prefix: str, *actions: str) -> None:
        """The next requests under `prefix` take these actions, then OK again."""
        with self.lock:
            self.script.setdefault(prefix, []).extend(actions)

    def _action(self, path: str) -> str:
        with self.lock:
            for prefix, actions in self.script.items():
                if actions and path.startswith(prefix):
                    return actions.pop(0)
        return OK

    def received(self, prefix: str) -> list[Request]:
        """Every request that reached the server under `prefix` (answered or not)."""
        with self.lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def alert_keys(self, prefix: str) -> list[str]:
        """The per-alert idempotency keys of every webhook payload received, in order."""
        return [a["idempotencyKey"] for r in self.received(prefix) for a in r.body["alerts"]]


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # the test's own output stays clean
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            action = state._action(self.path)
            req = Request(self.path, dict(self.headers.items()), body, None)
            with state.lock:
                state.requests.append(req)
            if action == HANG:
                state.release.wait(60)
                return
            code, text, extra = 200, "ok" if self.path.startswith("/services") else "{}", {}
            if action == FAIL:
                code, text = 500, "internal error"
            elif action == REDIRECT:
                code, text = 302, ""
                extra = {"Location": state.redirect_to}
            req.answered = code
            data = text.encode()
            self.send_response(code)
            for k, v in {"Content-Type": "text/plain", **extra}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST

    with serving(Handler, state.port, state.release):
        yield state
