"""The hourly pipeline as plain functions: one per DAG task, callable without Airflow.

Each step takes the run's context (the hour, its models, what it may do) and a warehouse
connection spec, and returns a small JSON-safe dict: large data moves through Parquet files in
the run's staging folder, never through XCom. Steps that write the warehouse replace exactly
the rows their hour and models own, so every step can be rerun.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch import schema
from modelwatch.alerting import lifecycle
from modelwatch.alerting.ledger import OWED
from modelwatch.alerting.scope import alert_models
from modelwatch.alerting.step import alert_hour
from modelwatch.config import Settings
from modelwatch.detection import baselines
from modelwatch.detection.hourly import (
    SCORE_COLUMNS,
    STATUS_SCORED,
    detect_models,
    excluded_verdict,
)
from modelwatch.detection.per_model import ModelDetection
from modelwatch.detection.store import detector_store
from modelwatch.drift.hourly import drift_hour
from modelwatch.ingest.extract import (
    HISTORY_ROW_GROUP,
    extract_hour,
    known_models,
    read_training_history,
    write_training_history,
)
from modelwatch.ingest.landing import check_landing, waits
from modelwatch.ingest.presence import record_retirements
from modelwatch.ingest.validate import validate_hour
from modelwatch.logs.step import mine_hour
from modelwatch.pipeline.overrides import read_detection_changes, stage_detection_changes
from modelwatch.remediation import outbox
from modelwatch.remediation import requests as remediation
from modelwatch.remediation.targets import build_target, target_connection
from modelwatch.run import CLEAN, EXCLUDED, HISTORY, HOUR_ROWS, RunContext, scope_models
from modelwatch.sharding import split_models
from modelwatch.warehouse import WarehouseSpec, open_warehouse

log = logging.getLogger(__name__)

#: The staged baselines in effect for the hour (new normal), from extract to detect.
BASELINES = "baselines.json"

# Branch names: the DAG's task ids for the route step.
ALERT, REMEDIATE, ALL_CLEAR = "alert", "remediate", "all_clear"


def _models_clause(ctx: RunContext, models: list[str]) -> tuple[str, dict[str, Any]]:
    return "hour = :hour AND model_id IN :models", {"hour": ctx.hour, "models": models}


# --------------------------------------------------------------------------------------- landing
def step_landing(ctx: RunContext, spec: WarehouseSpec, settings: Settings, now: datetime) -> bool:
    """The sensor before extract: True once the hour's rows have landed, or the landing
    deadline has passed, or the run does not wait (only scheduled runs do). See landing.py."""
    if not waits(ctx.run_type):
        log.info("%s run of %s: no wait for late rows", ctx.run_type, ctx.hour)
        return True
    with open_warehouse(spec) as wh:
        return check_landing(wh, settings, ctx, now).done


# --------------------------------------------------------------------------------------- extract
def step_extract(ctx: RunContext, spec: WarehouseSpec, settings: Settings) -> dict[str, Any]:
    """Stage the hour's rows, and the history of the models whose detector for the day is
    not fitted yet (none, on most hours), as Parquet."""
    day = ctx.hour.replace(hour=0)
    ctx.path.mkdir(parents=True, exist_ok=True)
    with open_warehouse(spec, migrate=True) as wh:
        ex = extract_hour(wh, settings, ctx.hour, ctx.models, with_history=False)
        ex.rows.to_parquet(ctx.path / HOUR_ROWS, index=False)
        record_retirements(wh, ex.retired)
        moved = baselines.decide_hour(wh, settings, ex.expected, ctx.hour)  # new normal
        _write_moved(ctx, moved)
        changes = stage_detection_changes(wh, settings, ex.expected, ctx.path)  # overrides
        per = ModelDetection(settings.detection, changes, detector_store(settings, spec))
        unfitted = [m for m in ex.expected if m in moved or not per.path(m, day).exists()]
        if unfitted:  # sorted by model, in small row groups: each shard reads only its own
            n_history, n_out = write_training_history(
                wh,
                settings,
                unfitted,
                day,
                ctx.path / HISTORY,
                row_group_size=HISTORY_ROW_GROUP,
                until=ctx.hour,
                moved={m: (b.since, b.decided_hour) for m, b in moved.items()},
            )
        else:
            ex.history.to_parquet(ctx.path / HISTORY, index=False)  # no rows, typed columns
            n_history = n_out = 0
    log.info(
        "extracted %d rows for %s (%d expected models), %d history rows (%d excluded)",
        len(ex.rows),
        ctx.hour,
        len(ex.expected),
        n_history,
        n_out,
    )
    return {"rows": len(ex.rows), "expected": ex.expected, "history_rows": n_history}


def _write_moved(ctx: RunContext, moved: dict[str, baselines.Baseline]) -> None:
    """Stage the baselines in effect (model -> [since, decided]) for the detect shards."""
    out = {m: [f"{b.since:%Y-%m-%dT%H}", f"{b.decided_hour:%Y-%m-%dT%H}"] for m, b in moved.items()}
    (ctx.path / BASELINES).write_text(json.dumps(out, sort_keys=True))


def _read_moved(ctx: RunContext) -> dict[str, tuple[datetime, datetime]]:
    path = ctx.path / BASELINES
    raw = json.loads(path.read_text()) if path.exists() else {}
    return {m: (datetime.fromisoformat(a), datetime.fromisoformat(b)) for m, (a, b) in raw.items()}


# ------------------------------------------------------------------------------------------ logs
def step_logs(ctx: RunContext, spec: WarehouseSpec, settings: Settings) -> dict[str, Any]:
    """Count the hour's log lines per model and signature, once: an hour mined before is read
    back, never mined again. A log source that cannot be read costs the hour its log hints
    (the hour stays unmined, for a later run), never the run."""
    if settings.logs.source == "none":
        return {"hour": ctx.hour.isoformat(), "skipped": "logs.source is none"}
    lookback = timedelta(days=settings.detection.history_days)
    with open_warehouse(spec, migrate=True) as wh:
        known = known_models(wh, settings.source, ctx.hour, lookback)
        try:
            return mine_hour(wh, settings, ctx.hour, known, ctx.run_id)
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("could not mine the logs of %s: %s", ctx.hour, exc, exc_info=True)
            return {"hour": ctx.hour.isoformat(), "error": str(exc)[:300]}


# -------------------------------------------------------------------------------------- validate
def step_validate(
    ctx: RunContext, expected: list[str], spec: WarehouseSpec, settings: Settings
) -> list[list[str]]:
    """Gate the hour: write each model's verdict, stage the clean rows and the list of models
    kept out, and return the shards of models that go on to detection."""
    rows = pd.read_parquet(ctx.path / HOUR_ROWS)
    report = validate_hour(rows, ctx.hour, expected, settings.validation)
    verdicts = report.verdicts
    if ctx.models is not None:  # a partial rerun owns only its models' verdicts
        verdicts = verdicts[verdicts["model_id"] != schema.FLEET]
    with open_warehouse(spec) as wh:
        where, params = _models_clause(ctx, verdicts["model_id"].tolist())
        wh.replace("mw_validation", verdicts, where, params)
    report.clean.to_parquet(ctx.path / CLEAN, index=False)
    passed = sorted(report.passed)
    shards = split_models(
        passed, settings.shard_size, settings.shard_target_size, settings.max_shards
    )
    excluded = {m: "quarantined" for m in report.quarantined} | {
        m: "no_data" for m in report.no_data
    }
    log.info(
        "validated %s: %d passed, %d quarantined, %d without data",
        ctx.hour,
        len(passed),
        len(report.quarantined),
        len(report.no_data),
    )
    (ctx.path / EXCLUDED).write_text(json.dumps(excluded, sort_keys=True))
    return shards


# ---------------------------------------------------------------------------------------- detect
def step_detect(
    ctx: RunContext,
    shard: list[str],
    index: int,
    settings: Settings,
    spec: WarehouseSpec,
) -> dict[str, Any]:
    """Score one shard of models from the staged files (shards run in parallel, and an
    embedded warehouse takes one writer at a time, so they read the warehouse only in the
    rare case below)."""
    filters = [(schema.MODEL_ID, "in", shard)]
    rows = pd.read_parquet(ctx.path / CLEAN, filters=filters)
    history = pd.read_parquet(ctx.path / HISTORY, filters=filters)
    # A detector cached when extract ran may be gone now (pruned by a run of a later day):
    # read those models' history rather than score them without a detector.
    changes = read_detection_changes(ctx.path)
    per = ModelDetection(settings.detection, changes, detector_store(settings, spec))
    day = ctx.hour.replace(hour=0)
    staged = set(history[schema.MODEL_ID].unique())
    moved = _read_moved(ctx)
    missing = [m for m in shard if m not in staged and not per.path(m, day).exists()]
    if missing:
        log.warning("reading history for %d models whose detector is gone", len(missing))
        with open_warehouse(spec) as wh:
            extra, _ = read_training_history(
                wh, settings, missing, day, ctx.hour, {m: moved[m] for m in missing if m in moved}
            )
        history = pd.concat([history, extra], ignore_index=True) if len(history) else extra
    scores = detect_models(
        rows,
        history,
        shard,
        ctx.hour,
        settings.detection,
        store_dir=detector_store(settings, spec),
        baselines={m: since for m, (since, _) in moved.items()},
        changes=changes,
    )
    out = ctx.path / f"scores-{index:04d}.parquet"
    scores.to_parquet(out, index=False)
    return {"path": str(out), "models": len(shard), "anomalous": int(scores["is_anomaly"].sum())}


# ----------------------------------------------------------------------------------------- drift
def step_drift(
    ctx: RunContext,
    spec: WarehouseSpec,
    settings: Settings,
    shards: list[list[str]] | None = None,
) -> dict[str, Any]:
    """Test the hour's predictions against their reference (parallel to detect) and replace
    the hour's findings; a no-op when there is no predictions table. `shards`: the models
    validation let through (a model whose hour was quarantined is not tested either)."""
    models = ctx.models if shards is None else sorted(m for shard in shards for m in shard)
    with open_warehouse(spec) as wh:
        found = drift_hour(wh, settings.drift, ctx.hour, models)
        if found.skipped:
            log.info("drift off for %s: %s", ctx.hour, found.skipped)
            return {"skipped": found.skipped, "tested": 0, "drifted": []}
        owned = list(models) if models is not None else found.models
        with wh.transaction():  # a full run owns the whole hour, a partial one its models
            where, params = _models_clause(ctx, owned)
            if ctx.models is None:
                where, params = "hour = :hour", {"hour": ctx.hour}
            wh.replace("mw_drift", found.frame, where, params)
            if found.late is not None:  # late labels: that hour's error rows only
                where = "hour = :hour AND model_id IN :models AND feature = 'label'"
                late_params = {"hour": found.late_hour, "models": owned}
                wh.replace("mw_drift", found.late, where, late_params)
    log.info("drift for %s: %d models tested, drifted: %s", ctx.hour, len(owned), found.drifted)
    return {"skipped": None, "tested": len(found.models), "drifted": found.drifted}


# --------------------------------------------------------------------------------------- persist
def step_persist(
    ctx: RunContext, shard_results: list[dict[str, Any]], spec: WarehouseSpec
) -> dict[str, Any]:
    """Write all shards' scores, and a row for each model kept out of detection, in one go."""
    excluded: dict[str, str] = json.loads((ctx.path / EXCLUDED).read_text())
    kept_out = pd.DataFrame(
        [excluded_verdict(m, ctx.hour, status, 0) for m, status in sorted(excluded.items())],
        columns=SCORE_COLUMNS,
    )
    parts = [f for f in (*(pd.read_parquet(r["path"]) for r in shard_results), kept_out) if len(f)]
    scores = pd.concat(parts, ignore_index=True) if parts else kept_out
    scores["hour"] = pd.to_datetime(scores["hour"]).astype("datetime64[us]")
    with open_warehouse(spec) as wh:
        where, params = _models_clause(ctx, scores["model_id"].tolist())
        wh.replace("mw_scores", scores, where, params)
    anomalous = sorted(scores.loc[scores["is_anomaly"].astype(bool), "model_id"].tolist())
    return {
        "scored": int((scores["status"] == STATUS_SCORED).sum()),
        "anomalous": anomalous,
        "excluded": excluded,
    }


# ----------------------------------------------------------------------------------------- route
def step_route(
    ctx: RunContext,
    persisted: dict[str, Any],
    spec: WarehouseSpec,
    settings: Settings | None = None,
    drifted: dict[str, Any] | None = None,
) -> list[str]:
    """Which branches have work: alerting (new trouble incl. drifted predictions, or open
    alerts that may resolve),
    remediation (anomalies to act on, requests to send or retry, a scaled-up model that may
    scale back down), or nothing at all."""
    with open_warehouse(spec) as wh:
        models = scope_models(wh, ctx)
        # a full run also owns the fleet-wide alert and every open alert (which only a rebuild
        # resolves); a partial rerun owns only its models
        alerting = alert_models(wh, ctx)
        owners = [*alerting, schema.FLEET] if ctx.models is None else alerting
        p = {
            "owners": owners,
            "hour": ctx.hour,
            "start": ctx.hour - lifecycle.LOOKBACK,
            "owed": list(OWED),
        }
        open_alerts = wh.query(
            "SELECT COUNT(*) AS n FROM mw_alerts WHERE model_id IN :owners "
            "AND opened_hour <= :hour AND (resolved_hour IS NULL OR resolved_hour >= :hour)",
            p,
        )["n"].iloc[0]
        # notifications that failed, or whose send was never confirmed, are retried by the
        # alert step
        owed = wh.query(
            "SELECT COUNT(*) AS n FROM mw_notifications WHERE state IN :owed "
            "AND hour >= :start AND hour <= :hour AND model_id IN :owners",
            p,
        )["n"].iloc[0]
        # requests to send or retry, or a scaled-up model that may scale back down
        pending = outbox.pending_work(wh, ctx, settings or Settings(), models)
    branches = []
    drift = bool((drifted or {}).get("drifted"))
    if persisted["anomalous"] or persisted["excluded"] or drift or int(open_alerts) or int(owed):
        branches.append(ALERT)
    if persisted["anomalous"] or pending:
        branches.append(REMEDIATE)
    return branches or [ALL_CLEAR]


# ----------------------------------------------------------------------------------------- alert
def step_alert(ctx: RunContext, spec: WarehouseSpec, settings: Settings) -> dict[str, Any]:
    """Rebuild the alert episodes of this run's models and deliver this hour's events (and
    earlier ones still owed), through silences, inhibition, routing and the dedup ledger;
    the whole step lives in `modelwatch.alerting.step`."""
    return alert_hour(ctx, spec, settings)


# ------------------------------------------------------------------------------------- remediate
def step_remediate(ctx: RunContext, spec: WarehouseSpec, settings: Settings) -> dict[str, Any]:
    """Propose actions for this hour's models and pass them through the guardrails into the
    outbox; the result says what waits for an operator (the DAG's approval task shows it)."""
    with open_warehouse(spec) as wh:
        models = scope_models(wh, ctx)
        return outbox.remediate_hour(ctx, wh, settings, models)


def step_record_approval(
    ctx: RunContext,
    request_ids: list[str],
    decision: dict[str, Any] | None,
    spec: WarehouseSpec,
) -> dict[str, Any]:
    """Apply the approval task's answer to the requests it showed. No answer (the task failed,
    or timed out into its default) is a no, as is anything but an explicit "Approve"."""
    chosen = list((decision or {}).get("chosen_options") or [])
    user = (decision or {}).get("responded_by_user") or {}
    approved = chosen == [remediation.APPROVE]
    if decision is None:
        actor, why = "timeout", "rejected: no answer from an operator"
    elif not user:
        actor, why = "timeout", "rejected: no answer before the approval timeout"
    else:
        actor = str(user.get("name") or user.get("id") or "operator")
        why = f"{'approved' if approved else 'rejected'} by {actor} in Airflow"
    with open_warehouse(spec) as wh:
        return outbox.record_decision(ctx, wh, request_ids, approved, actor, why)


def step_dispatch(
    ctx: RunContext,
    spec: WarehouseSpec,
    settings: Settings,
    connection: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """Send approved requests (and retry failed ones) to their targets; `connection` reads an
    Airflow connection by id (the environment's `AIRFLOW_CONN_*` outside Airflow)."""
    built: dict[str, Any] = {}

    def target(name: str) -> Any:
        if name not in built:
            get = connection or target_connection
            built[name] = build_target(name, settings.remediation, get)
        return built[name]

    with open_warehouse(spec) as wh:
        models = scope_models(wh, ctx)
        return outbox.dispatch_due(ctx, wh, settings, models, target)
