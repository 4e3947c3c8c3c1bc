"""The hourly pipeline as plain functions: one per DAG task, callable without Airflow.

Each step takes the run's context (the hour, its models, what it may do) and a warehouse
connection spec, and returns a small JSON-safe dict: large data moves through Parquet files in
the run's staging folder, never through XCom. Steps that write the warehouse replace exactly
the rows their hour and models own, so every step can be rerun.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from modelwatch import alerts, detect, outbox, remediation, schema
from modelwatch.config import Settings
from modelwatch.extract import extract_hour, read_training_history, write_training_history
from modelwatch.sharding import split_models
from modelwatch.warehouse import Warehouse, WarehouseSpec, open_warehouse
from modelwatch.window import RunMode

log = logging.getLogger(__name__)

HOUR_ROWS, HISTORY, CLEAN = "hour.parquet", "history.parquet", "clean.parquet"
EXCLUDED = "excluded.json"
HISTORY_ROW_GROUP = 32_768  # rows: about three models' week of minutes

# Branch names: the DAG's task ids for the route step.
ALERT, REMEDIATE, ALL_CLEAR = "alert", "remediate", "all_clear"


@dataclass(frozen=True)
class RunContext:
    """What a run processes and may do; travels between tasks as a small dict."""

    hour: datetime
    run_id: str
    run_type: str
    notify: bool
    dry_run: bool
    models: tuple[str, ...] | None
    staging: str

    @property
    def mode(self) -> RunMode:
        return RunMode(self.run_type, self.notify, self.dry_run)

    @property
    def path(self) -> Path:
        return Path(self.staging)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hour"] = self.hour.isoformat()
        d["models"] = list(self.models) if self.models is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunContext:
        return cls(
            hour=datetime.fromisoformat(d["hour"]),
            run_id=d["run_id"],
            run_type=d["run_type"],
            notify=bool(d["notify"]),
            dry_run=bool(d["dry_run"]),
            models=tuple(d["models"]) if d.get("models") is not None else None,
            staging=d["staging"],
        )


def make_context(
    hour: datetime, run_id: str, mode: RunMode, models: list[str] | None, settings: Settings
) -> RunContext:
    """Give the run its own staging folder, so concurrent runs of one hour never share files."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:120]
    staging = settings.staging_path() / f"{hour:%Y%m%dT%H}" / safe
    return RunContext(
        hour=hour,
        run_id=run_id,
        run_type=mode.run_type,
        notify=mode.notify,
        dry_run=mode.dry_run,
        models=tuple(sorted(set(models))) if models else None,
        staging=str(staging),
    )


def _models_clause(ctx: RunContext, models: list[str]) -> tuple[str, dict[str, Any]]:
    return "hour = :hour AND model_id IN :models", {"hour": ctx.hour, "models": models}


# --------------------------------------------------------------------------------------- extract
def step_extract(ctx: RunContext, spec: WarehouseSpec, settings: Settings) -> dict[str, Any]:
    """Stage the hour's rows, and the history of the models whose detector for the day is
    not fitted yet (none, on most hours), as Parquet."""
    store = detect.DetectorStore(detector_store(settings, spec), settings.detection)
    day = ctx.hour.replace(hour=0)
    ctx.path.mkdir(parents=True, exist_ok=True)
    with open_warehouse(spec, migrate=True) as wh:
        ex = extract_hour(wh, settings, ctx.hour, ctx.models, with_history=False)
        ex.rows.to_parquet(ctx.path / HOUR_ROWS, index=False)
        unfitted = [m for m in ex.expected if not store.path(m, day).exists()]
        if unfitted:  # sorted by model, in small row groups: each shard reads only its own
            n_history, n_out = write_training_history(
                wh, settings, unfitted, day, ctx.path / HISTORY, row_group_size=HISTORY_ROW_GROUP
            )
        else:
            ex.history.to_parquet(ctx.path / HISTORY, index=False)  # no rows, the columns
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


# -------------------------------------------------------------------------------------- validate
def step_validate(
    ctx: RunContext, expected: list[str], spec: WarehouseSpec, settings: Settings
) -> list[list[str]]:
    """Gate the hour: write each model's verdict, stage the clean rows and the list of models
    kept out, and return the shards of models that go on to detection."""
    from modelwatch.validate import validate_hour

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
def detector_store(settings: Settings, spec: WarehouseSpec) -> Path:
    """Where fitted per-model detectors are kept between hours (one file per model and day),
    one folder per warehouse and source table: a detector is only as good as the data it
    learnt from, so two deployments sharing a staging folder never share forests."""
    source = f"{spec.describe()}|{settings.source.table}"
    return settings.staging_path() / "_detectors" / hashlib.sha256(source.encode()).hexdigest()[:10]


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
    store = detect.DetectorStore(detector_store(settings, spec), settings.detection)
    day = ctx.hour.replace(hour=0)
    staged = set(history[schema.MODEL_ID].unique())
    missing = [m for m in shard if m not in staged and not store.path(m, day).exists()]
    if missing:
        log.warning("reading history for %d models whose detector is gone", len(missing))
        with open_warehouse(spec) as wh:
            extra, _ = read_training_history(wh, settings, missing, day)
        history = pd.concat([history, extra], ignore_index=True) if len(history) else extra
    scores = detect.detect_models(
        rows, history, shard, ctx.hour, settings.detection, store_dir=detector_store(settings, spec)
    )
    out = ctx.path / f"scores-{index:04d}.parquet"
    scores.to_parquet(out, index=False)
    return {"path": str(out), "models": len(shard), "anomalous": int(scores["is_anomaly"].sum())}


# --------------------------------------------------------------------------------------- persist
def step_persist(
    ctx: RunContext, shard_results: list[dict[str, Any]], spec: WarehouseSpec
) -> dict[str, Any]:
    """Write all shards' scores, and a row for each model kept out of detection, in one go."""
    excluded: dict[str, str] = json.loads((ctx.path / EXCLUDED).read_text())
    kept_out = pd.DataFrame(
        [detect.excluded_verdict(m, ctx.hour, status, 0) for m, status in sorted(excluded.items())],
        columns=detect.SCORE_COLUMNS,
    )
    parts = [f for f in (*(pd.read_parquet(r["path"]) for r in shard_results), kept_out) if len(f)]
    scores = pd.concat(parts, ignore_index=True) if parts else kept_out
    scores["hour"] = pd.to_datetime(scores["hour"]).astype("datetime64[us]")
    with open_warehouse(spec) as wh:
        where, params = _models_clause(ctx, scores["model_id"].tolist())
        wh.replace("mw_scores", scores, where, params)
    anomalous = sorted(scores.loc[scores["is_anomaly"].astype(bool), "model_id"].tolist())
    return {
        "scored": int((scores["status"] == detect.STATUS_SCORED).sum()),
        "anomalous": anomalous,
        "excluded": excluded,
    }


# ----------------------------------------------------------------------------------------- route
def scope_models(wh: Warehouse, ctx: RunContext) -> list[str]:
    """The models this run owns: the operator's selection, else all judged this hour."""
    if ctx.models is not None:
        return list(ctx.models)
    got = wh.query(
        "SELECT DISTINCT model_id FROM mw_validation WHERE hour = :hour AND model_id <> :fleet",
        {"hour": ctx.hour, "fleet": schema.FLEET},
    )
    return sorted(got["model_id"].tolist())


def step_route(
    ctx: RunContext,
    persisted: dict[str, Any],
    spec: WarehouseSpec,
    settings: Settings | None = None,
) -> list[str]:
    """Which branches have work: alerting (new trouble, or open alerts that may resolve),
    remediation (anomalies to act on, requests to send or retry, a scaled-up model that may
    scale back down), or nothing at all."""
    with open_warehouse(spec) as wh:
        models = scope_models(wh, ctx)
        # a full run also owns the fleet-wide alert; a partial rerun owns only its models
        owners = [*models, schema.FLEET] if ctx.models is None else models
        p = {"owners": owners, "hour": ctx.hour, "start": ctx.hour - alerts.LOOKBACK}
        open_alerts = wh.query(
            "SELECT COUNT(*) AS n FROM mw_alerts WHERE model_id IN :owners "
            "AND opened_hour <= :hour AND (resolved_hour IS NULL OR resolved_hour >= :hour)",
            p,
        )["n"].iloc[0]
        # notifications that failed earlier are retried by the alert step
        owed = wh.query(
            "SELECT COUNT(*) AS n FROM mw_notifications WHERE state = 'failed' "
            "AND hour >= :start AND hour <= :hour AND model_id IN :owners",
            p,
        )["n"].iloc[0]
        # requests to send or retry, or a scaled-up model that may scale back down
        pending = outbox.pending_work(wh, ctx, settings or Settings(), models)
    branches = []
    if persisted["anomalous"] or persisted["excluded"] or int(open_alerts) or int(owed):
        branches.append(ALERT)
    if persisted["anomalous"] or pending:
        branches.append(REMEDIATE)
    return branches or [ALL_CLEAR]


# ----------------------------------------------------------------------------------------- alert
def load_signals(
    wh: Warehouse, models: list[str], start: datetime
) -> tuple[list[alerts.Signal], datetime | None]:
    """Every hour of trouble for these models since `start`, and the latest hour processed."""
    frame = wh.query(
        "SELECT model_id, hour, 'anomaly' AS kind, score, explanation AS detail FROM mw_scores "
        "WHERE is_anomaly AND hour >= :start AND model_id IN :models "
        "UNION ALL "
        "SELECT model_id, hour, CASE WHEN status = 'no_data' THEN 'outage' ELSE 'data_quality' END"
        " AS kind, NULL AS score, failed_checks AS detail FROM mw_validation "
        "WHERE status IN ('no_data', 'quarantined') AND hour >= :start AND model_id IN :models",
        {"start": start, "models": models},
    )
    latest = wh.query(
        "SELECT MAX(hour) AS h FROM mw_validation WHERE hour >= :start AND model_id IN :models",
        {"start": start, "models": models},
    )["h"].iloc[0]
    signals = [
        alerts.Signal(
            r.model_id,
            pd.Timestamp(r.hour).to_pydatetime(),
            r.kind,
            None if pd.isna(r.score) else float(r.score),
            r.detail,
        )
        for r in frame.itertuples(index=False)
    ]
    return signals, None if pd.isna(latest) else pd.Timestamp(latest).to_pydatetime()


def step_alert(ctx: RunContext, spec: WarehouseSpec, settings: Settings) -> dict[str, Any]:
    """Rebuild the alert episodes of this run's models and deliver this hour's events (and
    earlier ones still owed), through silences, inhibition, routing and the dedup ledger;
    the whole step lives in `modelwatch.alerting`."""
    from modelwatch.alerting import alert_hour

    return alert_hour(ctx, spec, settings, load_signals=load_signals, scope_models=scope_models)


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
    from modelwatch.targets import build_target, connection_from_env

    built: dict[str, Any] = {}

    def target(name: str) -> Any:
        if name not in built:
            get = connection or connection_from_env
            built[name] = build_target(name, settings.remediation, get)
        return built[name]

    with open_warehouse(spec) as wh:
        models = scope_models(wh, ctx)
        return outbox.dispatch_due(ctx, wh, settings, models, target)


# --------------------------------------------------------------------------------------- summary
def hour_summary(wh: Warehouse, hour: datetime, settings: Settings) -> dict[str, Any]:
    """The hour's figures, computed from the output tables (so partial reruns agree)."""
    p = {"hour": hour, "fleet": schema.FLEET}
    v = wh.query(
        "SELECT status, COUNT(*) AS n FROM mw_validation WHERE hour = :hour AND model_id <> :fleet "
        "GROUP BY status",
        p,
    ).set_index("status")["n"]
    s = wh.query(
        "SELECT status, COUNT(*) AS n, SUM(CASE WHEN is_anomaly THEN 1 ELSE 0 END) AS anomalous "
        "FROM mw_scores WHERE hour = :hour GROUP BY status",
        {"hour": hour},
    ).set_index("status")
    a = wh.query(
        "SELECT SUM(CASE WHEN opened_hour = :hour THEN 1 ELSE 0 END) AS opened, "
        "SUM(CASE WHEN resolved_hour = :hour THEN 1 ELSE 0 END) AS resolved, "
        "SUM(CASE WHEN opened_hour <= :hour AND (resolved_hour IS NULL OR resolved_hour > :hour)"
        " THEN 1 ELSE 0 END) AS firing FROM mw_alerts",
        {"hour": hour},
    ).iloc[0]
    r = wh.query(
        "SELECT action, COUNT(*) AS n FROM mw_remediation_requests WHERE hour = :hour "
        "AND status IN :active GROUP BY action",
        {"hour": hour, "active": list(remediation.ACTIVE)},
    ).set_index("action")["n"]

    def n(x: Any) -> int:
        return 0 if pd.isna(x) else int(x)

    return {
        "hour": hour,
        "models_expected": n(v.sum()),
        "models_scored": n(s["n"].get(detect.STATUS_SCORED, 0)),
        "models_quarantined": n(v.get("quarantined", 0)),
        "models_no_data": n(v.get("no_data", 0)),
        "models_insufficient_history": n(s["n"].get(detect.STATUS_INSUFFICIENT, 0)),
        "models_anomalous": n(s["anomalous"].sum()),
        "alerts_opened": n(a["opened"]),
        "alerts_resolved": n(a["resolved"]),
        "alerts_firing": n(a["firing"]),
        "remediation_requests": n(r.sum()),
        "scaling_requests": n(r.get(remediation.SCALE_UP, 0)),
        "config_digest": settings.digest(),
    }


def format_summary(row: dict[str, Any]) -> str:
    """The one compact line per hour that the demo and the task log print."""
    return (
        f"{row['hour']:%Y-%m-%d %H:00}  scored {row['models_scored']:>4}  "
        f"quarantined {row['models_quarantined']:>2}  no-data {row['models_no_data']:>2}  "
        f"anomalous {row['models_anomalous']:>3}  alerts +{row['alerts_opened']}/"
        f"-{row['alerts_resolved']} (firing {row['alerts_firing']})  "
        f"scaling {row['scaling_requests']}"
    )


def step_summary(ctx: RunContext, spec: WarehouseSpec, settings: Settings) -> dict[str, Any]:
    """Record the hour's summary row, write its HTML report, remove the run's staging files."""
    with open_warehouse(spec) as wh:
        row = hour_summary(wh, ctx.hour, settings)
        frame = pd.DataFrame([row])
        frame["hour"] = frame["hour"].astype("datetime64[us]")
        wh.replace("mw_runs", frame, "hour = :hour", {"hour": ctx.hour})
        report = write_report(wh, ctx, settings)
    shutil.rmtree(ctx.path, ignore_errors=True)
    detect.DetectorStore(detector_store(settings, spec), settings.detection).prune(
        keep_days=2, now=ctx.hour
    )
    line = format_summary(row)
    log.info("%s", line)
    return {
        **{k: v for k, v in row.items() if k != "hour"},
        "hour": ctx.hour.isoformat(),
        "line": line,
        "report": report,
    }


def write_report(wh: Warehouse, ctx: RunContext, settings: Settings) -> str | None:
    """The hour's HTML report for operators (`modelwatch.report`); a failure to write it is
    logged and costs the report, never the run."""
    from modelwatch.report import write_report as write

    try:
        models = list(ctx.models) if ctx.models is not None else None
        return str(write(wh, settings, ctx.hour, ctx.run_id, models))
    except Exception:
        log.warning("could not write the report of %s", ctx.hour, exc_info=True)
        return None
