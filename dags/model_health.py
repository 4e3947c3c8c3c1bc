"""
### model_health: the hourly health check of every deployed model

For the hour that just ended: **resolve** the hour, models and side effects; **landed** waits
(scheduled runs) for its rows; **extract** them (and history for unfitted detectors); **logs**
counts log signatures; **validate** (Great Expectations: bad data quarantines its model only);
**detect** per model in shards, **drift** of predictions beside it; **persist** the scores;
**route** to alert (with troubleshooting hints), remediate (guarded requests; large ones wait in
**approve** for an operator, then **dispatch**) or all clear; **summary** into `mw_runs`.
Backfills never notify or act; manual runs take the params below. Logic: `include/modelwatch/`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import CronDataIntervalTimetable, Label, Param, TriggerRule, dag, task

#: The warehouse tasks' pool (1 slot for DuckDB), and how long an unanswered approval waits.
POOL = os.environ.get("MODELWATCH_WAREHOUSE_POOL", "modelwatch_warehouse")
APPROVAL_TIMEOUT = timedelta(minutes=int(os.environ.get("MODELWATCH_APPROVAL_MINUTES", "60")))
_ASK = "{{ ti.xcom_pull(task_ids='remediate')['approval']['%s'] }}"
LANDING_TIMEOUT = timedelta(hours=3)  # a backstop: the sensor's poke ends the wait itself
HELP = (  # the manual-trigger form's help for hour, models, dry_run, notify
    "Hour start, ISO 8601 UTC (2026-11-01T09:00:00Z). Empty: the data interval or last full hour.",
    "Model ids to reprocess. Empty: every model.",
    "Manual runs: record remediation requests, never dispatch. Backfills are always dry.",
    "Manual runs: send alert notifications. Backfills never notify; scheduled runs always do.",
)


def mw():
    """The library's Airflow edge, imported only when a task runs: parsing stays light."""
    from modelwatch.pipeline import tasks

    return tasks


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
        "hour": Param(None, HELP[0], type=["null", "string"], title="Hour to process"),
        "models": Param([], HELP[1], type="array", items={"type": "string"}, title="Models"),
        "dry_run": Param(True, HELP[2], type="boolean", title="Dry run"),
        "notify": Param(False, HELP[3], type="boolean", title="Notify"),
    },
)
def model_health():
    @task(pool="default_pool")
    def resolve(**context) -> dict:
        return mw().resolve(context)

    @task.sensor(poke_interval=120, timeout=LANDING_TIMEOUT, mode="reschedule")
    def landed(ctx: dict) -> bool:
        return mw().landed(ctx)

    @task
    def extract(ctx: dict) -> dict:
        return mw().extract(ctx)

    @task
    def logs(ctx: dict) -> dict:
        return mw().logs(ctx)

    @task
    def validate(ctx: dict, extracted: dict) -> list[list[str]]:
        return mw().validate(ctx, extracted)

    @task(pool="default_pool", map_index_template="{{ shard_label }}")
    def detect(ctx: dict, shard: list[str]) -> dict:
        return mw().detect(ctx, shard)

    @task
    def drift(ctx: dict, shards: list[list[str]]) -> dict:
        return mw().drift(ctx, shards)

    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def persist(ctx: dict, shard_results: list[dict]) -> dict:
        return mw().persist(ctx, shard_results)

    @task.branch
    def route(ctx: dict, persisted: dict, drifted: dict) -> list[str]:
        return mw().route(ctx, persisted, drifted)

    @task
    def alert(ctx: dict) -> dict:
        return mw().alert(ctx)

    @task
    def remediate(ctx: dict) -> dict:
        return mw().remediate(ctx)

    @task.branch(pool="default_pool")
    def needs_approval(remediated: dict) -> list[str]:
        return mw().needs_approval(remediated)

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
        return mw().record_approval(ctx, remediated)

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def dispatch() -> dict:  # reads resolve's XCom: only the approval branch is upstream
        return mw().dispatch()

    @task(pool="default_pool")
    def all_clear() -> None:
        """Nothing anomalous and no open alerts: nothing to do."""

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def summary(ctx: dict) -> dict:
        return mw().summary(ctx)

    ctx = resolve()
    extracted, mined = extract(ctx), logs(ctx)
    landed(ctx) >> [extracted, mined]
    shards = validate(ctx, extracted)
    scores = detect.partial(ctx=ctx).expand(shard=shards)
    branch = route(ctx, persist(ctx, scores), drift(ctx, shards))
    remediated, sent, done = remediate(ctx), dispatch(), summary(ctx)
    alerted = alert(ctx)  # after logs too: its hints read the hour's log signatures
    branch >> Label("trouble or open alerts") >> alerted >> done
    mined >> alerted
    gate = needs_approval(remediated)
    branch >> Label("anomalies to act on") >> remediated
    gate >> Label("large actions") >> approve >> record_approval(ctx, remediated) >> sent
    gate >> Label("nothing to approve") >> sent >> done
    branch >> Label("nothing to do") >> all_clear() >> done


model_health()
