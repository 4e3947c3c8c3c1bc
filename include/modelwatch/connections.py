"""The one way modelwatch reads an Airflow connection (warehouse, channels, remediation targets).

Inside a task the connection comes from Airflow itself (`Connection.get`: secrets backends,
`AIRFLOW_CONN_*`, the metadata database, in Airflow's order). Outside a task (the CLI, tests,
the demo) `AIRFLOW_CONN_<ID>` is read first, parsed by Airflow's own `Connection.from_uri` /
`from_json`; an optional connection that is not in the environment is simply absent there, so
the CLI never needs a metadata database.

Every secret of a connection read here (its password, sensitive extra values, and the path,
query and credentials of any URL it holds: webhook tokens live in URL paths) is registered with
Airflow's secrets masker, so task logs mask it, and kept in `registered_secrets()` for the
redaction of what modelwatch itself stores (the notification ledger, reports).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

ENV_PREFIX = "AIRFLOW_CONN_"

#: Airflow's masker ignores shorter values (they would mask ordinary words); so do we.
MIN_SECRET_LENGTH = 5
#: Extra keys whose values are secrets (Airflow's sensitive names, plus webhook/url keys).
SENSITIVE_KEY = re.compile(
    r"(?i)pass|secret|token|key|auth|credential|private|webhook|dsn|connection_string"
)

_registered: set[str] = set()


class ConnectionMissing(LookupError):
    """A required connection is defined nowhere modelwatch may look."""


def env_var(conn_id: str) -> str:
    return f"{ENV_PREFIX}{conn_id.upper()}"


def parse_connection(text: str, conn_id: str = "modelwatch") -> Any:
    """A connection from Airflow's URI or JSON form (as `AIRFLOW_CONN_*` holds it)."""
    from airflow.sdk import Connection

    text = text.strip()
    if text.startswith("{"):
        return Connection.from_json(text, conn_id=conn_id)
    return Connection.from_uri(text, conn_id=conn_id)


def in_task() -> bool:
    """True inside a running Airflow task (the Task SDK's supervisor answers there)."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # pragma: no cover - the Task SDK is a dependency
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def _url_secrets(text: str) -> Iterator[str]:
    """The secret parts of a URL: userinfo password, path, query values (the host is not)."""
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return
    if not parts.scheme or not parts.netloc:
        return
    if parts.password:
        yield parts.password
    path = parts.path.rstrip("/")
    if path:
        yield path
        yield unquote(path)
        yield text.strip()
    for _, value in parse_qsl(parts.query):
        yield value
    if parts.query:
        yield parts.query


def secrets_of(conn: Any) -> set[str]:
    """Every value of a connection that must never be printed or stored in the clear."""
    found: list[str] = []
    if conn.password:
        found.append(str(conn.password))
        found.extend(_url_secrets(str(conn.password)))
    if conn.host:
        found.extend(_url_secrets(str(conn.host)))
    try:
        extra = conn.extra_dejson or {}
    except Exception:  # unparsable extra: nothing more to find
        extra = {}
    for key, value in extra.items():
        if not isinstance(value, str):
            continue
        if SENSITIVE_KEY.search(str(key)):
            found.append(value)
        found.extend(_url_secrets(value))
    return {s for s in found if len(s) >= MIN_SECRET_LENGTH}


def register_secrets(conn: Any) -> None:
    """Tell Airflow's secrets masker (task logs) and our redaction (ledger, reports)."""
    from airflow.sdk.log import mask_secret

    for secret in secrets_of(conn):
        if secret not in _registered:
            _registered.add(secret)
            mask_secret(secret)


def registered_secrets() -> frozenset[str]:
    """The secrets of every connection read so far in this process."""
    return frozenset(_registered)


def get_connection(conn_id: str, *, required: bool = True) -> Any | None:
    """The connection `conn_id`, or None when it is optional and not defined; its secrets are
    registered for masking before it is returned."""
    conn = _read_connection(conn_id, required=required)
    if conn is not None:
        register_secrets(conn)
    return conn


def _read_connection(conn_id: str, *, required: bool) -> Any | None:
    if not in_task():
        text = os.environ.get(env_var(conn_id))
        if text:
            return parse_connection(text, conn_id)
        if not required:
            return None
    from airflow.sdk import Connection

    try:
        return Connection.get(conn_id)
    except Exception as exc:  # AirflowNotFoundException, or no way to reach Airflow at all
        if not required:
            return None
        raise ConnectionMissing(
            f"connection {conn_id!r} is not defined: set {env_var(conn_id)} or define it in Airflow"
        ) from exc


def connection_fields(conn: Any) -> dict[str, Any]:
    """The fields modelwatch builds warehouses and targets from."""
    return {
        "conn_type": (conn.conn_type or "").lower(),
        "host": conn.host or None,
        "port": conn.port,
        "login": conn.login or None,
        "password": conn.password or None,
        "schema": conn.schema or None,
        "extra": conn.extra_dejson or {},
    }
