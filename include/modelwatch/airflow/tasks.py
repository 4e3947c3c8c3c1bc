"""The task adapter: the one place a DAG task becomes a step call, `step(run, inputs)`.

Each task of `model_health` calls `call(name)`. `resolve` builds the run from the task's
context (params, run type, data interval), creates the warehouse pool when it is missing
(airflow/pool.py), and every later task rebuilds it from `resolve`'s
XCom with its own settings, connection and folders, so no setting or secret travels through
XCom. A step's inputs are the XComs of the steps the table names (`pipeline.table`); large data
moves through the run's staged files. The daily `model_training` DAG's tasks are at the end.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from modelwatch.airflow.pool import ensure_from_task
from modelwatch.config import Settings, load_settings
from modelwatch.folders import Folders
from modelwatch.pipeline import steps, training
from modelwatch.pipeline.table import HOURLY, Step, after_enrichment, critical, step
from modelwatch.run import (
    Run,
    WindowError,
    build_run,
    check_hour_ended,
    resolve_hour,
    resolve_mode,
)
from modelwatch.warehouse import warehouse_spec

log = logging.getLogger(__name__)

#: The XCom key under which a failed enrichment leaves why it failed.
FAILURE_KEY = "failed"
#: The XCom key under which a branch leaves the steps it chose (Airflow's branch operators
#: skip the others, but keep no return value).
CHOSEN_KEY = "chosen"


def _context() -> dict[str, Any]:
    from airflow.sdk import get_current_context

    return get_current_context()


def _edge() -> tuple[Settings, Folders]:
    settings = load_settings()
    return settings, Folders.from_env(settings)


def resolve_run(context: dict[str, Any], settings: Settings, folders: Folders) -> Run:
    """Decide the hour, the models and the side effects of this run, once, for every task."""
    params = dict(context.get("params") or {})
    dag_run = context["dag_run"]
    try:
        hour = resolve_hour(
            params.get("hour"),
            getattr(dag_run, "data_interval_start", None),
            getattr(dag_run, "data_interval_end", None),
            getattr(dag_run, "run_after", None),
        )
        if params.get("hour") not in (None, "") and getattr(dag_run, "run_after", None):
            check_hour_ended(hour, dag_run.run_after)  # an operator's hour must be over
    except WindowError as exc:
        raise ValueError(f"cannot resolve the hour to process: {exc}") from exc
    mode = resolve_mode(str(dag_run.run_type), params, settings.remediation.dry_run)
    models = [str(m) for m in params.get("models") or []] or None
    warehouse = warehouse_spec(settings.warehouse_conn_id)
    run = build_run(hour, settings, warehouse, folders, mode, models, dag_run.run_id)
    log.info(
        "processing hour %s (%s run: notify=%s, dry_run=%s, models=%s)",
        hour,
        mode.run_type,
        mode.notify,
        mode.dry_run,
        "all" if models is None else len(models),
    )
    return run


def call(name: str, **item: Any) -> Any:
    """Run step `name` for the current task. `item`: a mapped task's element (`shard`)."""
    context = _context()
    settings, folders = _edge()
    if name == "resolve":  # it runs in default_pool: it can create the warehouse pool
        run = resolve_run(context, settings, folders)
        ensure_from_task(run.warehouse.conn_type)
        return run.to_dict()
    ti = context["ti"]
    warehouse = warehouse_spec(settings.warehouse_conn_id)
    run = Run.from_dict(ti.xcom_pull(task_ids="resolve"), settings, warehouse, folders)
    s = step(name)
    if s.mapped:  # its item, and which one it is
        inputs = {**item, "index": int(ti.map_index)}
        shard = list(item.get("shard") or [])
        context["shard_label"] = f"{shard[0]} .. {shard[-1]} ({len(shard)} models)"
    else:
        inputs = gather(ti, s)
    if s.wait:  # the wall clock is read here, at the edge, only to compare with a deadline
        inputs = {**inputs, "now": datetime.now(UTC)}
    try:
        out = steps.IMPLEMENTATIONS[name](run, inputs)
    except Exception as exc:
        if s.enrichment:  # the steps after it still run (pipeline.table), and say why
            ti.xcom_push(key=FAILURE_KEY, value=steps.failed(exc))
        raise
    if s.branch:
        ti.xcom_push(key=CHOSEN_KEY, value=list(out))
    return out


def gather(ti: Any, s: Step) -> dict[str, Any]:
    """The outputs of the steps `s` takes (`after`, `uses`); for a step after an enrichment,
    first check that its other upstream steps succeeded (it runs whatever became of the
    enrichment, but never after a failed critical step)."""
    from airflow.sdk.exceptions import AirflowSkipException

    inputs: dict[str, Any] = {}
    for n in (*s.after, *s.uses):
        up = step(n)
        value = ti.xcom_pull(task_ids=n, key=CHOSEN_KEY if up.branch else "return_value")
        if up.mapped:  # one item: its dict; several: a list of them; none ran: None
            value = [] if value is None else value if isinstance(value, list) else [value]
        if up.enrichment and value is None:
            value = ti.xcom_pull(task_ids=n, key=FAILURE_KEY) or {"failed": "the task did not end"}
        if value is not None:
            inputs[n] = value
    if after_enrichment(s, HOURLY):
        for n in critical(s, HOURLY):
            up = step(n)
            chosen = inputs.get(n)
            if chosen is None or (up.branch and s.name not in chosen):
                raise AirflowSkipException(f"{n} did not succeed or did not choose {s.name}")
    return inputs


# ------------------------------------------------------------------------- model_training DAG
def training_day(context: dict[str, Any]) -> str:
    """The day the run trains for (ISO date), from the `day` param or the run's interval."""
    params = dict(context.get("params") or {})
    dag_run = context["dag_run"]
    return training.resolve_day(
        params.get("day"), getattr(dag_run, "data_interval_end", None)
    ).isoformat()


def training_ready(day: str, wait: bool) -> bool:
    """Sensor: has model_health recorded the previous day's last hour? (Its anomalies must stay
    out of training.) Always true when the operator said not to wait."""
    spec = warehouse_spec(load_settings().warehouse_conn_id)
    return not wait or training.last_hour_recorded(spec, datetime.fromisoformat(day))


def stage_training(day: str) -> list[list[str]]:
    settings, folders = _edge()
    spec = warehouse_spec(settings.warehouse_conn_id)
    return training.stage_training(spec, settings, datetime.fromisoformat(day), folders)


def train_logs(day: str) -> dict[str, Any]:
    settings, _ = _edge()
    spec = warehouse_spec(settings.warehouse_conn_id)
    return training.train_log_templates(spec, settings, datetime.fromisoformat(day))


def train(day: str, shard: list[str]) -> dict[str, Any]:
    _context()["shard_label"] = f"{shard[0]} .. {shard[-1]} ({len(shard)} models)"
    settings, folders = _edge()
    spec = warehouse_spec(settings.warehouse_conn_id)
    return training.train_shard(spec, settings, datetime.fromisoformat(day), shard, folders)
