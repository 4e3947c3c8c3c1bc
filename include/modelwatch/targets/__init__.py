"""Where approved remediation requests go: Kubernetes, a generic HTTP webhook, or the log.

`build_target(name, cfg, connection)` makes one; connections (hosts, tokens, CA certificates)
come only from Airflow connections, never from the config file.
"""

from modelwatch.targets.base import (
    APPLIED,
    DISPATCHED,
    FAILED,
    ConnectionFields,
    Outcome,
    Target,
    TargetError,
)
from modelwatch.targets.factory import build_target, connection_from_env

__all__ = [
    "APPLIED",
    "DISPATCHED",
    "FAILED",
    "ConnectionFields",
    "Outcome",
    "Target",
    "TargetError",
    "build_target",
    "connection_from_env",
]
