"""Where approved remediation requests go: Kubernetes, a generic HTTP webhook, or the log.

`build_target(name, cfg, connection)` makes one; connections (hosts, tokens, CA certificates)
come only from Airflow connections, never from the config file.
"""

from modelwatch.remediation.targets.base import (
    APPLIED,
    DISPATCHED,
    FAILED,
    ConnectionFields,
    Outcome,
    Target,
    TargetError,
)
from modelwatch.remediation.targets.factory import build_target, target_connection

__all__ = [
    "APPLIED",
    "DISPATCHED",
    "FAILED",
    "ConnectionFields",
    "Outcome",
    "Target",
    "TargetError",
    "build_target",
    "target_connection",
]
