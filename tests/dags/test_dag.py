"""DAG integrity: the file parses fast, without heavy imports, and wires the documented steps."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

DAG_FOLDER = ROOT / "dags"
DAG_FILE = DAG_FOLDER / "model_health.py"

#: What parsing may import of the library: the step table and the wiring, nothing else.
LIGHT = (
    "modelwatch",
    "modelwatch.airflow",
    "modelwatch.airflow.wiring",
    "modelwatch.pipeline",
    "modelwatch.pipeline.table",
)

PROBE = f"""
LIGHT = {LIGHT!r}
import json, sys, time
import airflow.sdk  # the Task SDK itself is not the DAG files' cost
from airflow.dag_processing.dagbag import DagBag  # nor is the parser
before = set(sys.modules)
seconds, dags, errors = {{}}, [], {{}}
for path in sorted({str(DAG_FOLDER)!r} + "/" + n for n in ("model_health.py", "model_training.py")):
    t0 = time.perf_counter()
    bag = DagBag(dag_folder=path)
    seconds[path] = time.perf_counter() - t0
    dags += bag.dag_ids
    errors.update({{k: str(v) for k, v in bag.import_errors.items()}})
heavy = sorted(m for m in set(sys.modules) - before
               if m.split('.')[0] in ('sklearn', 'great_expectations', 'pandas', 'duckdb',
                                      'matplotlib', 'modelwatch'))
heavy = [m for m in heavy if m not in LIGHT]
print(json.dumps({{"errors": errors, "dags": sorted(dags), "seconds": seconds, "heavy": heavy}}))
"""


@pytest.fixture(scope="module")
def probe() -> dict:
    """Parse the DAG folder (model_health and model_training) in a fresh interpreter, as the
    dag-processor does."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dag_parses_without_errors(probe):
    assert probe["errors"] == {}
    assert probe["dags"] == ["model_health", "model_training"]


def test_parse_imports_nothing_heavy_and_is_fast(probe):
    # the DAG file reads only the step table: no pandas, sklearn, GX or the stages at parse time
    assert probe["heavy"] == []
    for path, seconds in probe["seconds"].items():
        assert seconds < 1.0, f"parsing {path} took {seconds:.2f}s"


def test_a_task_imports_only_what_its_step_needs():
    """Every task process imports the library's task edge; scipy.stats (a second of every
    task's start), scikit-learn and GX belong to the steps that use them, not to that import."""
    code = (
        "import sys, json; import modelwatch.airflow.tasks; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('scipy', 'sklearn', 'great_expectations', 'matplotlib'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAG_FILE)).dags["model_health"]


def test_schedule_is_the_hour_that_just_ended(dag):
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.start_date.tzinfo is not None and dag.catchup is False
    assert dag.tags and dag.doc_md and "model_health" in dag.doc_md


def test_the_dags_tasks_and_order_are_the_step_tables(dag):
    """The order is written once, in `pipeline.table`: the DAG's tasks, their upstream tasks
    and their trigger rules are the table's, and a local run walks the same table."""
    from modelwatch.airflow.wiring import trigger_rule
    from modelwatch.pipeline.runner import run_hour
    from modelwatch.pipeline.table import HOURLY

    assert set(dag.task_ids) == {s.name for s in HOURLY}
    for s in HOURLY:
        task = dag.get_task(s.name)
        assert task.upstream_task_ids == set(s.after), s.name
        assert task.trigger_rule == trigger_rule(s), s.name
    assert run_hour.__defaults__[0] is HOURLY


def test_tasks_are_wired_in_pipeline_order(dag):
    down = {t: set(dag.get_task(t).downstream_task_ids) for t in dag.task_ids}
    # the late-data wait comes before extract, and before the hour's logs are mined (once)
    assert down["resolve"] == {"landed"} and down["landed"] == {"extract", "logs"}
    assert down["logs"] == {"alert"}  # alert's hints read the hour's log signatures
    assert down["extract"] == {"validate"}
    assert down["validate"] == {"detect", "drift"}  # drift runs beside detect
    assert down["detect"] == {"persist"} and down["drift"] == {"route"}
    assert down["route"] == {"alert", "remediate", "all_clear"}
    for branch in ("alert", "all_clear"):
        assert down[branch] == {"summary"}
    assert dag.get_task("summary").trigger_rule == "none_failed_min_one_success"
    # enrichments never hold back the alerts: alert and route run whatever became of them
    assert dag.get_task("alert").trigger_rule == "all_done"
    assert dag.get_task("route").trigger_rule == "all_done"
    assert dag.get_task("persist").trigger_rule == "none_failed"  # no shard: detect skipped


def test_remediation_waits_for_approval_only_when_asked_and_then_dispatches(dag):
    from airflow.providers.standard.operators.hitl import HITLOperator

    down = {t: set(dag.get_task(t).downstream_task_ids) for t in dag.task_ids}
    up = {t: set(dag.get_task(t).upstream_task_ids) for t in dag.task_ids}
    assert down["remediate"] == {"needs_approval"}
    assert down["needs_approval"] == {"approve", "dispatch"}  # the branch
    assert down["approve"] == {"record_approval"}
    assert down["record_approval"] == {"dispatch"}
    assert down["dispatch"] == {"summary"}
    # `resolve` is no upstream of dispatch: else it would run (and send) on every hour
    assert up["dispatch"] == {"needs_approval", "record_approval"}
    assert dag.get_task("dispatch").trigger_rule == "none_failed_min_one_success"
    # a failed approval task is still recorded (as a no); a skipped one is not
    assert dag.get_task("record_approval").trigger_rule == "none_skipped"
    approve = dag.get_task("approve")
    assert isinstance(approve, HITLOperator)
    assert approve.options == ["Approve", "Reject"] and approve.defaults == ["Reject"]
    assert approve.response_timeout is not None  # no answer in time means no
    assert approve.pool == "default_pool"  # it waits without holding the warehouse


def test_every_task_retries_and_warehouse_tasks_share_the_pool(dag):
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
    for tid in (
        "landed",
        "extract",
        "validate",
        "drift",
        "persist",
        "route",
        "alert",
        "remediate",
        "record_approval",
        "dispatch",
        "summary",
    ):
        assert dag.get_task(tid).pool == "modelwatch_warehouse", tid
    assert dag.get_task("detect").pool == "default_pool"  # shards never touch the warehouse


def test_params_are_typed_and_described_for_the_trigger_form(dag):
    params = dag.params
    assert set(params.keys()) == {"hour", "models", "dry_run", "notify"}
    for name in params:
        p = params.get_param(name)
        assert p.description and p.schema.get("type"), name
    assert params["dry_run"] is True and params["notify"] is False and params["models"] == []


# ------------------------------------------------------------------------------ model_training
@pytest.fixture(scope="module")
def training():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAG_FOLDER / "model_training.py")).dags["model_training"]


def test_training_runs_daily_waits_for_the_last_hour_then_trains_in_shards(training):
    from airflow.sdk import CronDataIntervalTimetable

    assert isinstance(training.timetable, CronDataIntervalTimetable) and not training.catchup
    assert training.tags and training.doc_md
    assert training.get_task("stage").upstream_task_ids == {"resolve", "wait"}
    assert training.get_task("train").upstream_task_ids == {"resolve", "stage"}
    assert training.get_task("log_templates").upstream_task_ids == {"resolve", "wait"}
    sensor = training.get_task("wait")
    assert sensor.mode == "reschedule" and sensor.timeout > 3600
    for tid in ("wait", "stage"):  # they read the warehouse
        assert training.get_task(tid).pool == "modelwatch_warehouse", tid
    for task in training.tasks:
        assert task.retries >= 2, task.task_id
    for name in ("day", "wait"):
        p = training.params.get_param(name)
        assert p.description and p.schema.get("type"), name
