"""The one way modelwatch reads an Airflow connection (warehouse, channels, remediation targets).

Inside a task the connection comes from Airflow itself (`Connection.get`: secrets backends,
`AIRFLOW_CONN_*`, the metadata database, in Airflow's order). Outside a task (the CLI, tests,
the demo) `AIRFLOW_CONN_<ID>` is read first, parsed by Airflow's own `Connection.from_uri` /
`from_json`; an optional connection that is not in the environment is simply absent there, so
the CLI never needs a metadata database.
"""

from __future__ import annotations

import os
from typing import Any

ENV_PREFIX = "AIRFLOW_CONN_"


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


def get_connection(conn_id: str, *, required: bool = True) -> Any | None:
    """The connection `conn_id`, or None when it is optional and not defined."""
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
