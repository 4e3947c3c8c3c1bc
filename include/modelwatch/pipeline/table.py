"""The step table: the hourly pipeline's steps, in order, with what each one waits for.

Written once, here. `pipeline.runner.run_hour` (local runs, what-if, the replay) walks it, and
the Airflow adapter wires `model_health`'s tasks from it (`modelwatch.airflow.wiring`), so the
DAG and a local run can never disagree on the order. This module imports nothing heavy: the
DAG file reads it at parse time.

Marks, and what they mean for a run:
- `after`: the steps whose outputs this one takes and which must be over before it starts.
- `uses`: earlier steps whose outputs it reads when there are any, without waiting on them
  (already over by then through `after`).
- `enrichment`: logs, drift. Their failure costs their findings (recorded and shown), never
  the alerts: a step after an enrichment runs whatever became of it.
- `mapped`: runs once per item of its `after` step's output (detect: once per shard).
- `branch`: returns the names of the steps after it that run; the others are skipped.
- `any_of`: runs when at least one step of `after` ran and none failed (a join after a branch).
- `wait`: a sensor under Airflow (waits for late rows); once, and it never waits, elsewhere.
- `ask`: an operator's answer under Airflow (the approval); a step after it runs whatever
  became of it (no answer is a no). Where nobody can answer, it is never asked: a branch that
  chose it goes on to its other steps, and the question waits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    name: str
    after: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    enrichment: bool = False
    mapped: bool = False
    branch: bool = False
    any_of: bool = False
    wait: bool = False
    ask: bool = False
    #: When the branch before it chooses it (the edge's label in Airflow's grid).
    when: str = ""


#: Steps that enrich alerts and whose failure must never keep an alert from going out.
LOGS, DRIFT = "logs", "drift"
#: The route step's branches.
ALERT, REMEDIATE, ALL_CLEAR = "alert", "remediate", "all_clear"
#: The approval branch.
APPROVE, DISPATCH = "approve", "dispatch"

HOURLY: tuple[Step, ...] = (
    Step("resolve"),
    Step("landed", after=("resolve",), wait=True),
    Step("extract", after=("landed",)),
    Step(LOGS, after=("landed",), enrichment=True),
    Step("validate", after=("extract",), uses=("extract",)),
    Step("detect", after=("validate",), mapped=True),
    Step(DRIFT, after=("validate",), enrichment=True),
    Step("persist", after=("detect",)),
    Step("route", after=("persist", DRIFT), branch=True),
    Step(ALERT, after=("route", LOGS), uses=(DRIFT,), when="trouble or open alerts"),
    Step(REMEDIATE, after=("route",), when="anomalies to act on"),
    Step("needs_approval", after=(REMEDIATE,), branch=True),
    Step(APPROVE, after=("needs_approval",), uses=(REMEDIATE,), ask=True, when="large actions"),
    Step("record_approval", after=(APPROVE,), uses=(REMEDIATE,)),
    Step(
        DISPATCH,
        after=("needs_approval", "record_approval"),
        any_of=True,
        when="nothing to approve",
    ),
    Step(ALL_CLEAR, after=("route",), when="nothing to do"),
    Step("summary", after=(ALERT, DISPATCH, ALL_CLEAR), uses=(LOGS, DRIFT), any_of=True),
)


def step(name: str, steps: tuple[Step, ...] = HOURLY) -> Step:
    """The step called `name`."""
    for s in steps:
        if s.name == name:
            return s
    raise KeyError(f"no step named {name!r}")


def critical(s: Step, steps: tuple[Step, ...] = HOURLY) -> tuple[str, ...]:
    """The steps of `after` that are not enrichments: this step runs only if they succeeded."""
    return tuple(n for n in s.after if not step(n, steps).enrichment)


def after_enrichment(s: Step, steps: tuple[Step, ...] = HOURLY) -> bool:
    """Whether an enrichment is among the steps `s` waits for (so it runs whatever became of
    that enrichment)."""
    return any(step(n, steps).enrichment for n in s.after)
