"""Run an hour without Airflow: the step table's steps, in its order, with its rules.

The one runner for local runs (`modelwatch run`), what-if shadows and the replay. The DAG is
the production path; it is wired from the same table (`pipeline.table`), so this is the same
code path minus the scheduler: a branch skips the steps it did not choose, a step after an
enrichment runs whatever became of the enrichment, and a failed enrichment is recorded (its
output says why) instead of stopping the hour.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from modelwatch.config import Settings
from modelwatch.folders import Folders
from modelwatch.pipeline import steps
from modelwatch.pipeline.table import HOURLY, Step, after_enrichment, critical, step
from modelwatch.run import Run, RunMode, build_run
from modelwatch.warehouse import WarehouseSpec, held_open

log = logging.getLogger(__name__)

SUCCESS, SKIPPED, FAILED = "success", "skipped", "failed"


def run_hour(
    run: Run,
    table: tuple[Step, ...] = HOURLY,
    skip: Collection[str] = (),
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Process one hour end to end; returns every step's output by name (the summary's under
    `summary`). `skip`: steps left to the caller (e.g. `dispatch`, for tests that drive a
    target of their own and for what-if shadows). `timings`, if given, adds up the seconds
    each step took (for benchmarks: where an hour's time goes)."""
    outputs: dict[str, Any] = {}
    state: dict[str, str] = {}
    with held_open(run.warehouse):  # one DuckDB instance for the hour, not one per step
        for s in table:
            if s.ask or s.name in skip or not _runs(s, state, outputs, table):
                state[s.name] = SKIPPED
                continue
            inputs = {n: outputs[n] for n in (*s.after, *s.uses) if state.get(n) != SKIPPED}
            if s.wait:  # the local edge's clock; only a scheduled run would wait on it
                inputs["now"] = datetime.now(UTC)
            t0 = time.perf_counter()
            try:
                outputs[s.name] = _call(s, run, inputs)
                state[s.name] = SUCCESS
            except Exception as exc:
                if not s.enrichment:
                    raise
                log.warning("%s failed for %s: %s", s.name, run.hour, exc, exc_info=True)
                outputs[s.name], state[s.name] = steps.failed(exc), FAILED
            finally:
                if timings is not None:
                    timings[s.name] = timings.get(s.name, 0.0) + time.perf_counter() - t0
    return outputs


def _call(s: Step, run: Run, inputs: dict[str, Any]) -> Any:
    """One step; a mapped step once per item of its first `after` step's output."""
    impl = steps.IMPLEMENTATIONS[s.name]
    if not s.mapped:
        return impl(run, inputs)
    items = inputs[s.after[0]] or []
    return [impl(run, {"shard": item, "index": i}) for i, item in enumerate(items)]


def _chosen(branch: Step, output: list[str], table: tuple[Step, ...]) -> set[str]:
    """The steps a branch runs here. Nobody can answer an `ask` step outside Airflow: a
    branch that chose one goes on to its other steps instead (the question waits, unasked)."""
    here = {n for n in output if not step(n, table).ask}
    if here or not output:
        return here
    return {t.name for t in table if branch.name in t.after and not t.ask}


def _runs(s: Step, state: dict[str, str], outputs: dict[str, Any], table: tuple[Step, ...]) -> bool:
    """Whether `s` runs, by the rules the DAG's trigger rules follow (see pipeline.table)."""
    for n in s.after:  # a branch runs only the steps it chose
        up = step(n, table)
        if up.branch and state.get(n) == SUCCESS and s.name not in _chosen(up, outputs[n], table):
            return False
    done = [state.get(n) for n in s.after]
    if s.any_of:
        return SUCCESS in done and FAILED not in done
    if after_enrichment(s, table):
        return all(state.get(n) == SUCCESS for n in critical(s, table))
    return all(d == SUCCESS for d in done)


def run_local(
    hour: datetime,
    warehouse: WarehouseSpec,
    settings: Settings,
    mode: RunMode | None = None,
    models: list[str] | None = None,
    run_id: str | None = None,
    dispatch: bool = True,
    timings: dict[str, float] | None = None,
    folders: Folders | None = None,
) -> dict[str, Any]:
    """`modelwatch run`'s edge: build the hour's run (folders from the environment unless
    given) and run it; returns the summary the DAG's last task returns.

    `dispatch=False` leaves sending remediation requests to the caller. Outside Airflow
    there is no operator to ask: requests that need approval stay awaiting it."""
    run = build_run(
        hour,
        settings,
        warehouse,
        folders or Folders.from_env(settings),
        mode=mode,
        models=models,
        run_id=run_id,
    )
    skip = () if dispatch else ("dispatch",)
    return run_hour(run, skip=skip, timings=timings)["summary"]
