"""Build a target by name from the config and its Airflow connection."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable

from modelwatch.config import RemediationConfig
from modelwatch.targets.base import ConnectionFields, Target, TargetError
from modelwatch.targets.log import LogTarget

ConnectionGetter = Callable[[str], ConnectionFields]


def connection_from_env(conn_id: str) -> ConnectionFields:
    """The connection `conn_id` from `AIRFLOW_CONN_<ID>` (URI or JSON), as Airflow reads it;
    for runs outside Airflow (CLI, tests). Inside Airflow the adapter reads the real one."""
    from modelwatch.warehouse import spec_from_uri

    uri = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not uri:
        raise TargetError(f"no connection {conn_id!r}: set AIRFLOW_CONN_{conn_id.upper()}")
    spec = spec_from_uri(uri)
    extra = spec.extra
    for key, value in list(extra.items()):  # URI query values are strings; JSON stays JSON
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(ValueError):
                extra[key] = json.loads(value)
    return ConnectionFields(
        conn_id=conn_id,
        conn_type=spec.conn_type,
        host=spec.host,
        port=spec.port,
        login=spec.login,
        password=spec.password,
        schema=spec.schema,
        extra=extra,
    )


def build_target(
    name: str, cfg: RemediationConfig, connection: ConnectionGetter = connection_from_env
) -> Target:
    """The target called `name`; Kubernetes and webhook targets read their connection now."""
    if name == "log":
        return LogTarget()
    if name == "webhook":
        from modelwatch.targets.webhook import WebhookTarget

        return WebhookTarget(connection(cfg.webhook.conn_id), cfg.webhook)
    if name == "kubernetes":
        from modelwatch.targets.kubernetes import KubernetesTarget

        return KubernetesTarget(connection(cfg.kubernetes.conn_id), cfg.kubernetes)
    raise TargetError(f"unknown remediation target {name!r}")
