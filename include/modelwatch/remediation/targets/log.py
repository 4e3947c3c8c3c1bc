"""The log-only target: the default, and what a demo without a cluster uses."""

from __future__ import annotations

import logging
from typing import Any

from modelwatch.remediation.targets.base import DISPATCHED, Outcome

log = logging.getLogger("modelwatch.remediation.states")

ALL_ACTIONS = frozenset(("scale_up", "scale_down", "rollback", "restart"))


class LogTarget:
    """Logs each request at WARNING, so it shows in the task log and any log alerting."""

    name = "log"
    actions = ALL_ACTIONS

    def apply(self, request: dict[str, Any]) -> Outcome:
        log.warning("remediation %s: %s", request["request_id"], request["reason"])
        return Outcome(DISPATCHED, "logged")
