"""The only module that knows about Airflow: it turns a task's context into library calls.

DAG tasks call one function here each; everything they do is in `modelwatch.pipeline.hourly`, which
runs the same way from the CLI and the tests.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from modelwatch.config import Settings, load_settings
from modelwatch.pipeline import hourly, training
from modelwatch.pipeline.summary import step_summary
from modelwatch.run import (
    RunContext,
    WindowError,
    check_hour_ended,
    make_context,
    resolve_hour,
    resolve_mode,
)
from modelwatch.warehouse import WarehouseSpec, warehouse_spec

log = logging.getLogger(__name__)


def settings() -> Settings:
    return load_settings()


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
        if params.get("hour") not in (None, "") and getattr(dag_run, "run_after", None):
            check_hour_ended(hour, dag_run.run_after)  # an operator's hour must be over
    except WindowError as exc:
        raise ValueError(f"cannot resolve the hour to process: {exc}") from exc
    mode = resolve_mode(str(dag_run.run_type), params, cfg.remediation.dry_run)
    models = [str(m) for m in params.get("models") or []] or None
    ctx = make_context(hour, dag_run.run_id, mode, models, cfg)
    log.info(
        "processing hour %s (%s run: notify=%s, dry_run=%s, models=%s)",
        hour,
        mode.run_type,
        mode.notify,
        mode.dry_run,
        "all" if models is None else len(models),
    )
    return ctx.to_dict()


def landed(ctx: dict[str, Any]) -> bool:
    """Sensor poke: have the hour's rows landed? The wall clock is read here, at the Airflow
    edge, and only to compare with the landing deadline."""
    cfg = settings()
    return hourly.step_landing(RunContext.from_dict(ctx), _spec(cfg), cfg, datetime.now(UTC))


def extract(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return hourly.step_extract(RunContext.from_dict(ctx), _spec(cfg), cfg)


def logs(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return hourly.step_logs(RunContext.from_dict(ctx), _spec(cfg), cfg)


def validate(ctx: dict[str, Any], extracted: dict[str, Any]) -> list[list[str]]:
    cfg = settings()
    run = RunContext.from_dict(ctx)
    return hourly.step_validate(run, extracted["expected"], _spec(cfg), cfg)


def detect(ctx: dict[str, Any], shard: list[str]) -> dict[str, Any]:
    """One mapped task per shard; its grid label names the shard's first and last model."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    context["shard_label"] = f"{shard[0]} .. {shard[-1]} ({len(shard)} models)"
    index = context["ti"].map_index
    cfg = settings()
    return hourly.step_detect(RunContext.from_dict(ctx), shard, index, cfg, _spec(cfg))


def drift(ctx: dict[str, Any], shards: list[list[str]]) -> dict[str, Any]:
    cfg = settings()
    return hourly.step_drift(RunContext.from_dict(ctx), _spec(cfg), cfg, list(shards or []))


def persist(ctx: dict[str, Any], shard_results: list[dict[str, Any]]) -> dict[str, Any]:
    cfg = settings()
    run = RunContext.from_dict(ctx)
    return hourly.step_persist(run, list(shard_results or []), _spec(cfg))


def route(
    ctx: dict[str, Any], persisted: dict[str, Any], drifted: dict[str, Any] | None = None
) -> list[str]:
    cfg = settings()
    return hourly.step_route(RunContext.from_dict(ctx), persisted, _spec(cfg), cfg, drifted)


def alert(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return hourly.step_alert(RunContext.from_dict(ctx), _spec(cfg), cfg)


def remediate(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return hourly.step_remediate(RunContext.from_dict(ctx), _spec(cfg), cfg)


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
    run = RunContext.from_dict(ctx)
    return hourly.step_record_approval(run, ids, decision, _spec(cfg))


def dispatch(ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send what may go. The run context comes from `resolve`'s XCom rather than an argument,
    so that `resolve` is no upstream of this task: it runs only after the approval branch."""
    if ctx is None:
        from airflow.sdk import get_current_context

        ctx = get_current_context()["ti"].xcom_pull(task_ids="resolve")
    cfg = settings()
    run = RunContext.from_dict(ctx)
    return hourly.step_dispatch(run, _spec(cfg), cfg)


def summary(ctx: dict[str, Any]) -> dict[str, Any]:
    cfg = settings()
    return step_summary(RunContext.from_dict(ctx), _spec(cfg), cfg)


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
    return not wait or training.last_hour_recorded(_spec(settings()), datetime.fromisoformat(day))


def stage_training(day: str) -> list[list[str]]:
    cfg = settings()
    return training.stage_training(_spec(cfg), cfg, datetime.fromisoformat(day))


def train_logs(day: str) -> dict[str, Any]:
    cfg = settings()
    return training.train_log_templates(_spec(cfg), cfg, datetime.fromisoformat(day))


def train(day: str, shard: list[str]) -> dict[str, Any]:
    from airflow.sdk import get_current_context

    get_current_context()["shard_label"] = f"{shard[0]} .. {shard[-1]} ({len(shard)} models)"
    cfg = settings()
    return training.train_shard(_spec(cfg), cfg, datetime.fromisoformat(day), shard)
