"""The late-data wait in model_health: a rescheduling sensor before extract, with a backstop
timeout well past the library's own landing deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelwatch.config import Settings
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags" / "model_health.py")).dags["model_health"]


def test_landed_is_a_rescheduling_sensor_between_resolve_and_extract(dag) -> None:
    from airflow.sdk import BaseSensorOperator

    sensor = dag.get_task("landed")
    assert isinstance(sensor, BaseSensorOperator)
    assert sensor.mode == "reschedule"  # frees its worker and pool slot between pokes
    assert sensor.upstream_task_ids == {"resolve"}
    assert sensor.downstream_task_ids == {"extract", "logs"}  # logs are mined once: after landing
    assert dag.get_task("extract").upstream_task_ids == {"landed"}
    assert 0 < sensor.poke_interval <= 300


def test_the_sensor_timeout_is_only_a_backstop_behind_the_landing_deadline(dag) -> None:
    sensor = dag.get_task("landed")
    deadline = timedelta(minutes=Settings().source.landing_deadline_minutes)
    # a scheduled run starts at the hour's end: the deadline must end the wait, not the timeout
    assert timedelta(seconds=sensor.timeout) > deadline + timedelta(minutes=30)
