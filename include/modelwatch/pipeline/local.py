"""Run the pipeline for an hour without Airflow: the same steps, in the DAG's order.

For the CLI (`modelwatch run`), quick experiments and the library-level tests. The DAG is the
production path; this is the same code path minus the scheduler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modelwatch.config import Settings
from modelwatch.pipeline import hourly
from modelwatch.pipeline.summary import step_summary
from modelwatch.run import RunMode, hour_key, make_context
from modelwatch.warehouse import WarehouseSpec


def run_hour(
    hour: datetime,
    spec: WarehouseSpec,
    settings: Settings,
    mode: RunMode | None = None,
    models: list[str] | None = None,
    run_id: str | None = None,
    dispatch: bool = True,
) -> dict[str, Any]:
    """Process one hour end to end; returns the summary the DAG's last task returns.

    `dispatch=False` leaves sending remediation requests to the caller (tests that drive a
    target of their own)."""
    mode = mode or RunMode("manual", notify=False, dry_run=True)
    ctx = make_context(hour, run_id or f"local__{hour_key(hour)}", mode, models, settings)
    extracted = hourly.step_extract(ctx, spec, settings)
    hourly.step_logs(ctx, spec, settings)
    shards = hourly.step_validate(ctx, extracted["expected"], spec, settings)
    results = [hourly.step_detect(ctx, shard, i, settings, spec) for i, shard in enumerate(shards)]
    drifted = hourly.step_drift(ctx, spec, settings, shards)
    persisted = hourly.step_persist(ctx, results, spec)
    branches = hourly.step_route(ctx, persisted, spec, settings, drifted)
    if hourly.ALERT in branches:
        hourly.step_alert(ctx, spec, settings)
    if hourly.REMEDIATE in branches:
        # no operator to ask outside Airflow: requests that need approval stay awaiting it
        hourly.step_remediate(ctx, spec, settings)
        if dispatch:
            hourly.step_dispatch(ctx, spec, settings)
    return step_summary(ctx, spec, settings)
