"""Build a target by name from the config and its Airflow connection."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

from modelwatch.config import RemediationConfig
from modelwatch.connections import ConnectionMissing, connection_fields, get_connection
from modelwatch.remediation.targets.base import ConnectionFields, Target, TargetError
from modelwatch.remediation.targets.log import LogTarget

ConnectionGetter = Callable[[str], ConnectionFields]


def target_connection(conn_id: str) -> ConnectionFields:
    """A target's connection (API server and token, webhook URL), read the one way every
    connection is read (`modelwatch.connections`)."""
    try:
        conn = get_connection(conn_id)
    except ConnectionMissing as exc:
        raise TargetError(str(exc)) from exc
    fields = connection_fields(conn)
    extra = dict(fields.pop("extra"))
    for key, value in list(extra.items()):  # URI query values are strings; JSON stays JSON
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(ValueError):
                extra[key] = json.loads(value)
    return ConnectionFields(conn_id=conn_id, extra=extra, **fields)


def build_target(
    name: str, cfg: RemediationConfig, connection: ConnectionGetter = target_connection
) -> Target:
    """The target called `name`; Kubernetes and webhook targets read their connection now."""
    if name == "log":
        return LogTarget()
    if name == "webhook":
        from modelwatch.remediation.targets.webhook import WebhookTarget

        return WebhookTarget(connection(cfg.webhook.conn_id), cfg.webhook)
    if name == "kubernetes":
        from modelwatch.remediation.targets.kubernetes import KubernetesTarget

        return KubernetesTarget(connection(cfg.kubernetes.conn_id), cfg.kubernetes)
    raise TargetError(f"unknown remediation target {name!r}")
