"""The only module that knows about Airflow: it turns a task's context into library calls.

DAG tasks call one function here each; everything they do is in `modelwatch.pipeline`, which
runs the same way from the CLI and the tests.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from modelwatch import pipeline
from modelwatch.config import Settings, load_settings
from modelwatch.warehouse import WarehouseSpec
from modelwatch.window import WindowError, resolve_hour, resolve_mode

log = logging.getLogger(__name__)


def settings() -> Settings:
    return load_settings()


def connection_fields(conn_id: str) -> dict[str, Any]:
    """An Airflow connection's fields, read through Airflow (environment, secrets backend or
    metadata database); the warehouse and the remediation targets are built from them."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    return {
        "conn_type": (conn.conn_type or "").lower(),
        "host": conn.host or None,
        "port": conn.port,
        "login": conn.login or None,
        "password": conn.password or None,
        "schema": conn.schema or None,
        "extra": conn.extra_dejson or {},
    }


def warehouse_spec(conn_id: str) -> WarehouseSpec:
    return WarehouseSpec(**connection_fields(conn_id))


def _spec(cfg: Settings) -> WarehouseSpec:
    return warehouse_spec(cfg.warehouse_conn_id)


def resolve(context: dict[str, Any]) -> dict[str, Any]:
    """Decide the hour, the models and the side effects of this run, once, for every task."""
    cfg = settings()
    params = dict(context.get("params") or {})
    dag_run = context["dag_run"]
    try:
        hour = resolve_hour(
            params.get("hour"),
            getattr(dag_run, "data_interval_start", None),
            getattr(dag_run, "data_interval_end", None),
            getattr(dag_run, "run_after", None),
        )
    except WindowError as exc:
        raise ValueError(f"cannot resolve the hour to process: {exc}") from exc
    mode = resolve_mode(str(dag_run.run_type), params, cfg.remediation.dry_run)
    models = [str(m) for m in params.get("models") or []] or None
    ctx = pipeline.make_context(hour, dag_run.run_id, mode, models, cfg)
    log.info(
        "processing hour %s (%s run: notify=%s, dry_run=%s, models=%s)",
        hour,
        mode.run_type,
        mode.notify,
        mode.dry_run,
        "all" if models is None else len(models),
    )
    return ctx.to_dict()


def extract(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return pipeline.step_extract(pipeline.RunContext.from_dict(ctx), _spec(cfg), cfg)


def validate(ctx: dict[str, Any], extracted: dict[str, Any]) -> list[list[str]]:
    cfg = settings()
    run = pipeline.RunContext.from_dict(ctx)
    return pipeline.step_validate(run, extracted["expected"], _spec(cfg), cfg)


def detect(ctx: dict[str, Any], shard: list[str]) -> dict[str, Any]:
    """One mapped task per shard; its grid label names the shard's first and last model."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    context["shard_label"] = f"{shard[0]} .. {shard[-1]} ({len(shard)} models)"
    index = context["ti"].map_index
    cfg = settings()
    return pipeline.step_detect(pipeline.RunContext.from_dict(ctx), shard, index, cfg, _spec(cfg))


def persist(ctx: dict[str, Any], shard_results: list[dict[str, Any]]) -> dict[str, Any]:
    cfg = settings()
    run = pipeline.RunContext.from_dict(ctx)
    return pipeline.step_persist(run, list(shard_results or []), _spec(cfg))


def route(ctx: dict[str, Any], persisted: dict[str, Any]) -> list[str]:
    cfg = settings()
    return pipeline.step_route(pipeline.RunContext.from_dict(ctx), persisted, _spec(cfg), cfg)


def alert(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return pipeline.step_alert(pipeline.RunContext.from_dict(ctx), _spec(cfg), cfg)


def remediate(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return pipeline.step_remediate(pipeline.RunContext.from_dict(ctx), _spec(cfg), cfg)


#: Task ids of the approval branch (dags/model_health.py uses the same names).
APPROVE_TASK, DISPATCH_TASK = "approve", "dispatch"


def needs_approval(remediated: dict[str, Any] | None) -> list[str]:
    """Branch after remediate: the operator's approval only when something waits for it."""
    return [APPROVE_TASK] if (remediated or {}).get("approval") else [DISPATCH_TASK]


def record_approval(ctx: dict[str, Any], remediated: dict[str, Any]) -> dict[str, Any]:
    """Apply the approval task's answer (its XCom; none if it failed) to the requests it showed."""
    from airflow.sdk import get_current_context

    decision = get_current_context()["ti"].xcom_pull(task_ids=APPROVE_TASK)
    cfg = settings()
    ids = list(((remediated or {}).get("approval") or {}).get("request_ids") or [])
    run = pipeline.RunContext.from_dict(ctx)
    return pipeline.step_record_approval(run, ids, decision, _spec(cfg))


def target_connection(conn_id: str) -> Any:
    """A remediation target's connection (API server and token, webhook URL)."""
    from modelwatch.targets import ConnectionFields

    return ConnectionFields(conn_id=conn_id, **connection_fields(conn_id))


def dispatch(ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send what may go. The run context comes from `resolve`'s XCom rather than an argument,
    so that `resolve` is no upstream of this task: it runs only after the approval branch."""
    if ctx is None:
        from airflow.sdk import get_current_context

        ctx = get_current_context()["ti"].xcom_pull(task_ids="resolve")
    cfg = settings()
    run = pipeline.RunContext.from_dict(ctx)
    return pipeline.step_dispatch(run, _spec(cfg), cfg, target_connection)


def summary(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return pipeline.step_summary(pipeline.RunContext.from_dict(ctx), _spec(cfg), cfg)


# ------------------------------------------------------------------------- model_training DAG
def training_day(context: dict[str, Any]) -> str:
    """The day the run trains for (ISO date), from the `day` param or the run's interval."""
    from modelwatch.training import resolve_day

    params = dict(context.get("params") or {})
    dag_run = context["dag_run"]
    return resolve_day(params.get("day"), getattr(dag_run, "data_interval_end", None)).isoformat()


def training_ready(day: str, wait: bool) -> bool:
    """Sensor: has model_health recorded the previous day's last hour? (Its anomalies must stay
    out of training.) Always true when the operator said not to wait."""
    from modelwatch.training import last_hour_recorded

    return not wait or last_hour_recorded(_spec(settings()), datetime.fromisoformat(day))


def stage_training(day: str) -> list[list[str]]:
    from modelwatch import training

    cfg = settings()
    return training.stage_training(_spec(cfg), cfg, datetime.fromisoformat(day))


def train(day: str, shard: list[str]) -> dict[str, Any]:
    from airflow.sdk import get_current_context

    from modelwatch import training

    get_current_context()["shard_label"] = f"{shard[0]} .. {shard[-1]} ({len(shard)} models)"
    cfg = settings()
    return training.train_shard(_spec(cfg), cfg, datetime.fromisoformat(day), shard)
