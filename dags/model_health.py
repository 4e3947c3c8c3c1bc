"""
### model_health: the hourly health check of every deployed model

For the hour that just ended: **resolve** the hour, models and side effects; **landed** waits
(scheduled runs) for its rows; **extract** them (and history for unfitted detectors); **logs**
counts log signatures; **validate** (Great Expectations: bad data quarantines its model only);
**detect** per model in shards, **drift** of predictions beside it; **persist** the scores;
**route** to alert (with troubleshooting hints), remediate (guarded requests; large ones wait in
**approve** for an operator, then **dispatch**) or all clear; **summary** into `mw_runs`.
Logs and drift are enrichments: when they fail, the alerts still go out, saying so.
Backfills never notify or act; manual runs take the params below. The order and the trigger
rules come from the step table (`modelwatch.pipeline.table`); the logic is in `include/modelwatch/`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from modelwatch.airflow.wiring import wire

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


def step(name: str, **item):
    """Run one step of the library's step table (imported only when a task runs: parsing
    stays light)."""
    from modelwatch.airflow.tasks import call

    return call(name, **item)


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
    # A task returning a dict pushes it as one XCom (`multiple_outputs=False`): TaskFlow would
    # also push each key as an XCom of its own, an execution API call apiece, read by nothing.
    @task(pool="default_pool", multiple_outputs=False)
    def resolve() -> dict:
        return step("resolve")

    @task.sensor(poke_interval=120, timeout=LANDING_TIMEOUT, mode="reschedule")
    def landed() -> bool:
        return step("landed")

    @task(multiple_outputs=False)
    def extract() -> dict:
        return step("extract")

    @task(multiple_outputs=False)
    def logs() -> dict:
        return step("logs")

    @task
    def validate() -> list[list[str]]:
        return step("validate")

    @task(pool="default_pool", map_index_template="{{ shard_label }}", multiple_outputs=False)
    def detect(shard: list[str]) -> dict:
        return step("detect", shard=shard)

    @task(multiple_outputs=False)
    def drift() -> dict:
        return step("drift")

    @task(multiple_outputs=False)
    def persist() -> dict:
        return step("persist")

    @task.branch
    def route() -> list[str]:
        return step("route")

    @task(multiple_outputs=False)
    def alert() -> dict:
        return step("alert")

    @task(multiple_outputs=False)
    def remediate() -> dict:
        return step("remediate")

    @task.branch(pool="default_pool")
    def needs_approval() -> list[str]:
        return step("needs_approval")

    approve = HITLOperator(
        task_id="approve",
        pool="default_pool",
        subject=_ASK % "subject",
        body=_ASK % "body",
        options=["Approve", "Reject"],
        defaults=["Reject"],  # what the timeout answers
        response_timeout=APPROVAL_TIMEOUT,
    )

    @task(multiple_outputs=False)
    def record_approval() -> dict:
        return step("record_approval")

    @task(multiple_outputs=False)
    def dispatch() -> dict:
        return step("dispatch")

    @task(pool="default_pool")
    def all_clear() -> None:
        """Nothing anomalous and no open alerts: nothing to do."""

    @task(multiple_outputs=False)
    def summary() -> dict:
        return step("summary")

    shards = validate()
    wire(
        {
            "resolve": resolve(),
            "landed": landed(),
            "extract": extract(),
            "logs": logs(),
            "validate": shards,
            "detect": detect.expand(shard=shards),
            "drift": drift(),
            "persist": persist(),
            "route": route(),
            "alert": alert(),
            "remediate": remediate(),
            "needs_approval": needs_approval(),
            "approve": approve,
            "record_approval": record_approval(),
            "dispatch": dispatch(),
            "all_clear": all_clear(),
            "summary": summary(),
        }
    )


model_health()
