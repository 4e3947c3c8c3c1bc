"""
### model_training: fit every model's detector for the day before the hourly runs need it

Every day at 00:00 UTC, for the day that begins:

1. **wait** until `model_health` has recorded the previous day's last hour (anomalous hours
   stay out of training, so the detectors are the ones an hourly run would fit);
2. **stage** the 7-day history of every model whose detector for the day is not fitted yet;
3. **train** them in shards (mapped tasks) into the detector cache `model_health` loads;
4. **log_templates**: learn the day's log templates and their baseline (docs/hints.md).

Without this DAG `model_health` still works: the day's first hourly run fits what is missing,
and takes longer. A rerun fits nothing twice. All logic lives in `include/modelwatch/`.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

POOL = os.environ.get("MODELWATCH_WAREHOUSE_POOL", "modelwatch_warehouse")


def mw():
    """The library's Airflow edge, imported only when a task runs: parsing stays light."""
    from modelwatch.airflow import tasks

    return tasks


@dag(
    dag_id="model_training",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["modelwatch", "ml-monitoring"],
    doc_md=__doc__,
    params={
        "day": Param(
            None,
            type=["null", "string"],
            title="Day to train for",
            description="YYYY-MM-DD (UTC). Empty: the day that begins as the run's interval ends.",
        ),
        "wait": Param(
            True,
            type="boolean",
            title="Wait for the previous day's last hour",
            description="Wait until model_health has recorded 23:00 of the day before.",
        ),
    },
)
def model_training():
    @task
    def resolve(**context) -> str:
        return mw().training_day(context)

    @task.sensor(poke_interval=60, timeout=3 * 3600, mode="reschedule", pool=POOL)
    def wait(day: str, params: dict | None = None) -> bool:
        return mw().training_ready(day, bool((params or {}).get("wait", True)))

    @task(pool=POOL)
    def stage(day: str) -> list[list[str]]:
        return mw().stage_training(day)

    @task(map_index_template="{{ shard_label }}")
    def train(day: str, shard: list[str]) -> dict:
        return mw().train(day, shard)

    @task(pool=POOL)
    def log_templates(day: str) -> dict:
        return mw().train_logs(day)

    day = resolve()
    shards = stage(day)
    wait(day) >> [shards, log_templates(day)]
    train.partial(day=day).expand(shard=shards)


model_training()
