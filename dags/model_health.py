"""
### model_health: the hourly health check of every deployed model

Every hour, for the hour that just ended:

1. **resolve** which hour and models to process, and whether this run may notify or act;
   **landed** waits (scheduled runs only) for the hour's rows, at most until the deadline;
2. **extract** the hour's serving metrics and each model's trailing history from the warehouse;
3. **validate** them (Great Expectations): a model with bad data is quarantined, the rest go on;
4. **detect** anomalies per model with an Isolation Forest on its own history, in shards;
5. **persist** the scores and their explanations;
6. **route** to alerting, remediation, or all clear;
7. **alert** (lifecycle: firing, repeated, resolved) and **remediate** (guarded requests: scale,
   roll back, restart); large ones wait in **approve** for an operator (Required Actions; no
   answer before the timeout means no), then **dispatch** sends what may go;
8. **summary** of the hour, in `mw_runs`.

Backfills replay history through the same tasks and never notify or act. Manual runs take the
params below (leave `hour` empty for the last full hour). All logic lives in
`include/modelwatch/`; this file only wires tasks.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import CronDataIntervalTimetable, Label, Param, TriggerRule, dag, task

#: Every task that opens the warehouse runs in this pool. With an embedded DuckDB file (one
#: writer at a time) it has one slot; a PostgreSQL warehouse can have more.
POOL = os.environ.get("MODELWATCH_WAREHOUSE_POOL", "modelwatch_warehouse")
#: How long large remediation requests wait for an operator before they count as rejected.
APPROVAL_TIMEOUT = timedelta(minutes=int(os.environ.get("MODELWATCH_APPROVAL_MINUTES", "60")))
_ASK = "{{ ti.xcom_pull(task_ids='remediate')['approval']['%s'] }}"
#: A backstop: the poke itself ends the wait at `source.landing_deadline_minutes`.
LANDING_TIMEOUT = timedelta(hours=3)


@dag(
    dag_id="model_health",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    max_active_runs=4,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1), "pool": POOL},
    tags=["modelwatch", "ml-monitoring"],
    doc_md=__doc__,
    params={
        "hour": Param(
            None,
            type=["null", "string"],
            title="Hour to process",
            description="Start of the hour, ISO 8601 UTC (e.g. 2026-11-01T09:00:00Z). "
            "Empty: the run's data interval, or the last full hour for a manual run.",
        ),
        "models": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Models",
            description="Model ids to reprocess. Empty: every model.",
        ),
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run",
            description="Manual runs: record remediation requests without dispatching them. "
            "Backfills are always dry; scheduled runs follow the config.",
        ),
        "notify": Param(
            False,
            type="boolean",
            title="Notify",
            description="Manual runs: send alert notifications. Backfills never notify; "
            "scheduled runs always do.",
        ),
    },
)
def model_health():
    @task(pool="default_pool")
    def resolve(**context) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.resolve(context)

    @task.sensor(poke_interval=120, timeout=LANDING_TIMEOUT, mode="reschedule")
    def landed(ctx: dict) -> bool:
        from modelwatch.pipeline import tasks as mw

        return mw.landed(ctx)

    @task
    def extract(ctx: dict) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.extract(ctx)

    @task
    def validate(ctx: dict, extracted: dict) -> list[list[str]]:
        from modelwatch.pipeline import tasks as mw

        return mw.validate(ctx, extracted)

    @task(pool="default_pool", map_index_template="{{ shard_label }}")
    def detect(ctx: dict, shard: list[str]) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.detect(ctx, shard)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def persist(ctx: dict, shard_results: list[dict]) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.persist(ctx, shard_results)

    @task.branch
    def route(ctx: dict, persisted: dict) -> list[str]:
        from modelwatch.pipeline import tasks as mw

        return mw.route(ctx, persisted)

    @task
    def alert(ctx: dict) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.alert(ctx)

    @task
    def remediate(ctx: dict) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.remediate(ctx)

    @task.branch(pool="default_pool")
    def needs_approval(remediated: dict) -> list[str]:
        from modelwatch.pipeline import tasks as mw

        return mw.needs_approval(remediated)

    approve = HITLOperator(
        task_id="approve",
        pool="default_pool",
        subject=_ASK % "subject",
        body=_ASK % "body",
        options=["Approve", "Reject"],
        defaults=["Reject"],  # what the timeout answers
        response_timeout=APPROVAL_TIMEOUT,
    )

    @task(trigger_rule=TriggerRule.NONE_SKIPPED)  # a failed approval is recorded as a no
    def record_approval(ctx: dict, remediated: dict) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.record_approval(ctx, remediated)

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def dispatch() -> dict:  # reads resolve's XCom: only the approval branch is upstream
        from modelwatch.pipeline import tasks as mw

        return mw.dispatch()

    @task(pool="default_pool")
    def all_clear() -> None:
        """Nothing anomalous and no open alerts: nothing to do."""

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def summary(ctx: dict) -> dict:
        from modelwatch.pipeline import tasks as mw

        return mw.summary(ctx)

    ctx = resolve()
    extracted = extract(ctx)
    landed(ctx) >> extracted
    shards = validate(ctx, extracted)
    scores = detect.partial(ctx=ctx).expand(shard=shards)
    branch = route(ctx, persist(ctx, scores))
    done = summary(ctx)
    branch >> Label("trouble or open alerts") >> alert(ctx) >> done
    remediated, sent = remediate(ctx), dispatch()
    gate = needs_approval(remediated)
    branch >> Label("anomalies to act on") >> remediated
    gate >> Label("large actions") >> approve >> record_approval(ctx, remediated) >> sent
    gate >> Label("nothing to approve") >> sent >> done
    branch >> Label("nothing to do") >> all_clear() >> done


model_health()
