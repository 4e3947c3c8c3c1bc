"""The step table's order and marks as a DAG's dependencies and trigger rules.

`wire(tasks)` sets every dependency `pipeline.table` names and the trigger rule each mark
implies, so `dags/model_health.py` only declares its tasks:
- a join after a branch (`any_of`): none failed, at least one succeeded;
- a step after an operator's answer (`ask`): whatever the answer became, unless skipped (no
  answer is a no);
- a step after a mapped step: none failed (no shard at all skips the mapped step);
- a step after an enrichment: all done, whatever the enrichment became; the task adapter then
  checks its other upstream steps itself (`tasks.gather`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Label, TriggerRule

from modelwatch.pipeline.table import HOURLY, Step, after_enrichment, step


def trigger_rule(s: Step, table: tuple[Step, ...] = HOURLY) -> TriggerRule:
    """The trigger rule step `s`'s marks imply."""
    ups = [step(n, table) for n in s.after]
    if s.any_of:
        return TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    if any(u.ask for u in ups):
        return TriggerRule.NONE_SKIPPED
    if after_enrichment(s, table):
        return TriggerRule.ALL_DONE
    if any(u.mapped for u in ups):
        return TriggerRule.NONE_FAILED
    return TriggerRule.ALL_SUCCESS


def _operator(task: Any) -> Any:
    """The operator behind a TaskFlow call's result (or the operator itself)."""
    return getattr(task, "operator", task)


def wire(tasks: Mapping[str, Any], table: tuple[Step, ...] = HOURLY) -> None:
    """Set the dependencies and trigger rules of `tasks` (step name -> task) by `table`.
    Every step of the table must be there, and nothing else."""
    if set(tasks) != {s.name for s in table}:
        missing = sorted({s.name for s in table} - set(tasks))
        extra = sorted(set(tasks) - {s.name for s in table})
        raise ValueError(
            f"the DAG's tasks differ from the step table: missing {missing}, extra {extra}"
        )
    for s in table:
        op = _operator(tasks[s.name])
        op.trigger_rule = trigger_rule(s, table)
        for n in s.after:
            up = _operator(tasks[n])
            if step(n, table).branch and s.when:
                up >> Label(s.when) >> op
            else:
                up >> op
