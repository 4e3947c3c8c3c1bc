"""An operator's answer to the approval task, applied to the requests it showed.

No answer (the task failed, or timed out into its default) is a no, as is anything but an
explicit "Approve".
"""

from __future__ import annotations

from typing import Any

from modelwatch.remediation import outbox
from modelwatch.remediation.states import APPROVE
from modelwatch.run import Run
from modelwatch.warehouse import open_warehouse


def record(
    run: Run, remediated: dict[str, Any] | None, decision: dict[str, Any] | None
) -> dict[str, Any]:
    """Apply `decision` (the approval task's answer) to the requests `remediated` asked about."""
    ids = list(((remediated or {}).get("approval") or {}).get("request_ids") or [])
    chosen = list((decision or {}).get("chosen_options") or [])
    user = (decision or {}).get("responded_by_user") or {}
    approved = chosen == [APPROVE]
    if decision is None:
        actor, why = "timeout", "rejected: no answer from an operator"
    elif not user:
        actor, why = "timeout", "rejected: no answer before the approval timeout"
    else:
        actor = str(user.get("name") or user.get("id") or "operator")
        why = f"{'approved' if approved else 'rejected'} by {actor} in Airflow"
    with open_warehouse(run.warehouse) as wh:
        return outbox.record_decision(run, wh, ids, approved, actor, why)
