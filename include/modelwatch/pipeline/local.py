"""Run the pipeline for an hour without Airflow: the same steps, in the DAG's order.

For the CLI (`modelwatch run`), quick experiments and the library-level tests. The DAG is the
production path; this is the same code path minus the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from modelwatch.config import Settings
from modelwatch.pipeline import hourly
from modelwatch.pipeline.summary import step_summary
from modelwatch.run import RunMode, hour_key, make_context
from modelwatch.warehouse import WarehouseSpec, held_open


def run_hour(
    hour: datetime,
    spec: WarehouseSpec,
    settings: Settings,
    mode: RunMode | None = None,
    models: list[str] | None = None,
    run_id: str | None = None,
    dispatch: bool = True,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Process one hour end to end; returns the summary the DAG's last task returns.

    `dispatch=False` leaves sending remediation requests to the caller (tests that drive a
    target of their own, what-if shadows). `timings`, if given, adds up the seconds each
    step took (for benchmarks: where an hour's time goes)."""
    mode = mode or RunMode("manual", notify=False, dry_run=True)
    ctx = make_context(hour, run_id or f"local__{hour_key(hour)}", mode, models, settings)
    clock = _stopwatch(timings)
    with held_open(spec):  # one DuckDB instance for the hour, not one per step
        with clock("extract"):
            extracted = hourly.step_extract(ctx, spec, settings)
        with clock("logs"):
            hourly.step_logs(ctx, spec, settings)
        with clock("validate"):
            shards = hourly.step_validate(ctx, extracted["expected"], spec, settings)
        with clock("detect"):
            results = [
                hourly.step_detect(ctx, shard, i, settings, spec) for i, shard in enumerate(shards)
            ]
            persisted = hourly.step_persist(ctx, results, spec)
        with clock("drift"):
            drifted = hourly.step_drift(ctx, spec, settings, shards)
        with clock("route"):
            branches = hourly.step_route(ctx, persisted, spec, settings, drifted)
        if hourly.ALERT in branches:
            with clock("alert"):
                hourly.step_alert(ctx, spec, settings)
        if hourly.REMEDIATE in branches:
            # no operator to ask outside Airflow: requests that need approval stay awaiting it
            with clock("remediate"):
                hourly.step_remediate(ctx, spec, settings)
            if dispatch:
                hourly.step_dispatch(ctx, spec, settings)
        with clock("summary"):
            return step_summary(ctx, spec, settings)


def _stopwatch(timings: dict[str, float] | None) -> Any:
    @contextmanager
    def clock(step: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if timings is not None:
                timings[step] = timings.get(step, 0.0) + time.perf_counter() - t0

    return clock
