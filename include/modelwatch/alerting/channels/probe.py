"""Whether a receiver could deliver, found out without sending anything (`modelwatch check`).

For each configured channel: its connection exists (an `optional` channel without one is
skipped, as runs skip it), has the fields its type needs, and its endpoint answers.
Alertmanager has a readiness endpoint (`GET /-/ready`), asked through the same `HttpHook` the
channel sends with. A webhook, Slack or SMTP endpoint has nothing to ask that sends nothing, so
for them "answers" means a TCP connection to its host and port opens. Nothing here logs or
returns a URL path, token or password: messages name the host and port at most.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from modelwatch.alerting.channels.base import http_options, read_secrets
from modelwatch.alerting.redaction import redact
from modelwatch.config import ChannelConfig
from modelwatch.connections import get_connection

#: Default ports of the URL schemes and SMTP (implicit TLS unless `disable_ssl`).
PORTS = {"http": 80, "https": 443}
SMTP_PORTS = {True: 465, False: 25}


@dataclass(frozen=True)
class Probe:
    """One channel's state: ok, skipped (optional, no connection) or a problem."""

    receiver: str
    state: str  # "ok", "skipped" or "problem"
    message: str


def _reach(host: str, port: int, timeout_s: float) -> str | None:
    """None if a TCP connection opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"{host}:{port} does not answer ({exc.strerror or type(exc).__name__})"


def http_base(conn: object) -> str:
    """The base URL `HttpHook` builds from a connection (host, schema, port)."""
    host = str(getattr(conn, "host", "") or "")
    if "://" not in host:
        host = f"{getattr(conn, 'schema', None) or 'http'}://{host}"
    port = getattr(conn, "port", None)
    return f"{host}:{port}" if port else host


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or PORTS.get(parts.scheme, 80)


def slack_url(conn: object) -> str:
    """The webhook URL the Slack provider's hook builds: the password as a full URL, or the
    host (default hooks.slack.com/services) with the password as the token path."""
    token = str(getattr(conn, "password", "") or "").strip()
    if "://" in token:
        return token
    host = str(getattr(conn, "host", "") or "")
    if "://" not in host:
        host = f"{getattr(conn, 'schema', None) or 'https'}://{host or 'hooks.slack.com/services'}"
    return host.rstrip("/") + "/" + token.lstrip("/")


def _alertmanager_ready(ch: ChannelConfig) -> str | None:
    from airflow.providers.http.hooks.http import HttpHook

    hook = HttpHook(method="GET", http_conn_id=ch.conn_id)
    resp = hook.run("/-/ready", extra_options=http_options(ch.timeout_s))
    if resp.status_code != 200:
        return f"Alertmanager is not ready: GET /-/ready answered HTTP {resp.status_code}"
    return None


def _problem(ch: ChannelConfig, conn: object) -> str | None:
    """What keeps this channel from delivering, or None."""
    extra = getattr(conn, "extra_dejson", None) or {}
    if ch.type in ("alertmanager", "webhook"):
        if not getattr(conn, "host", None):
            return f"connection {ch.conn_id} has no host (an http connection: the URL)"
        if ch.type == "alertmanager":
            return _alertmanager_ready(ch)
        return _reach(*_host_port(http_base(conn)), ch.timeout_s)
    if ch.type == "slack":
        if not str(getattr(conn, "password", "") or "").strip():
            return f"connection {ch.conn_id} has no password (the webhook URL or token)"
        return _reach(*_host_port(slack_url(conn)), ch.timeout_s)
    if ch.type == "email":
        host = getattr(conn, "host", None)
        if not host:
            return f"connection {ch.conn_id} has no host (the SMTP server)"
        ssl = not bool(extra.get("disable_ssl", False))
        port = int(getattr(conn, "port", None) or SMTP_PORTS[ssl])
        return _reach(str(host), port, ch.timeout_s)
    return None


def probe(name: str, ch: ChannelConfig) -> Probe:
    """Check one configured channel without sending through it."""
    if ch.type == "log":
        return Probe(name, "ok", "the task log")
    conn_id = ch.conn_id or ""
    read_secrets(conn_id)
    conn = get_connection(conn_id, required=False)
    if conn is None:
        if ch.optional:
            return Probe(name, "skipped", f"optional; connection {conn_id} is not defined")
        return Probe(name, "problem", f"connection {conn_id} is not defined")
    try:
        problem = _problem(ch, conn)
    except Exception as exc:  # a hook's own failure (bad URL, refused, timed out)
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        return Probe(name, "problem", " ".join(redact(problem).split())[:300])
    return Probe(name, "ok", f"{ch.type} via connection {conn_id} answers")
