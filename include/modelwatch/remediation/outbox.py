"""The remediation outbox in the warehouse: what the remediate, approval and dispatch steps
read and write, each write one transaction with its audit rows.

`remediate_hour` replaces exactly the (hour, models) rows its run owns (keeping what a rerun
must not undo); `record_decision` and `dispatch_due` move single requests along, checking in
the same transaction that nobody moved them meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.alerting import lifecycle
from modelwatch.alerting.rules import alert_settings
from modelwatch.config import Settings
from modelwatch.ingest.extract import read_metrics
from modelwatch.labels import override_labels
from modelwatch.remediation import guardrails
from modelwatch.remediation import states as rem
from modelwatch.remediation.answers import answered_alerts
from modelwatch.remediation.plan import plan_requests, requests_summary
from modelwatch.remediation.policies import HOUR, Recent
from modelwatch.run import Run
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)

REQUESTS, EVENTS = "mw_remediation_requests", "mw_remediation_events"


def _now() -> datetime:
    """Wall-clock time for the audit trail only (when a transition was recorded), never for
    deciding anything."""
    return datetime.now(UTC).replace(tzinfo=None)


def history_hours(settings: Settings) -> int:
    """How far guardrails and policies look at other hours' requests (back, and forward for
    a rerun of an earlier hour)."""
    cfg = settings.remediation
    per_model = [cfg, *(cfg.for_model(m) for m in cfg.models)]
    return max(
        24,
        *(c.cooldown_hours for c in per_model),
        *(h for c in per_model for h in c.cooldowns.values()),
        *(c.inflight_hours for c in per_model),
        *(c.scale_down.lookback_hours for c in per_model),
        cfg.retry_hours,
    )


def load_recent(
    wh: Warehouse, settings: Settings, hour: datetime, models: list[str], history: pd.DataFrame
) -> Recent:
    """Raw metrics and scores of the last hours, for the policies that need more than one."""
    cfg = settings.remediation
    look = max(
        max(cfg.for_model(m).restart.ramp_hours for m in models) if models else 0,
        max(cfg.for_model(m).rollback.within_hours for m in models) if models else 0,
        cfg.rollback.within_hours,
        cfg.restart.ramp_hours,
    )
    metrics = (
        read_metrics(wh, settings.source, hour - timedelta(hours=look), hour + HOUR, models)
        if models
        else pd.DataFrame()
    )
    stab = max(
        [cfg.scale_down.stabilisation_hours]
        + [cfg.for_model(m).scale_down.stabilisation_hours for m in models]
    )
    scores = wh.query(
        "SELECT * FROM mw_scores WHERE hour > :start AND hour <= :hour AND model_id IN :models",
        {"start": hour - timedelta(hours=stab), "hour": hour, "models": models},
    )
    return Recent(metrics=metrics, scores=scores, requests=history)


def anomaly_signals(wh: Warehouse, models: list[str], hour: datetime) -> pd.DataFrame:
    """The models' anomalous hours of the alert lookback, as alert signals (`answers.py`)."""
    if not models:
        return pd.DataFrame(columns=["model_id", "hour", "kind", "score", "detail"])
    return wh.query(
        "SELECT model_id, hour, 'anomaly' AS kind, score, explanation AS detail FROM mw_scores "
        "WHERE is_anomaly "
        "AND hour >= :start AND hour <= :hour AND model_id IN :models",
        {"start": hour - lifecycle.LOOKBACK, "hour": hour, "models": sorted(set(models))},
    )


def remediate_hour(run: Run, wh: Warehouse, models: list[str]) -> dict[str, Any]:
    """Propose, guard and record this hour's requests for `models`; return the XCom summary
    (with what waits for approval, for the approval task)."""
    settings = run.settings
    scores = wh.query(
        "SELECT * FROM mw_scores WHERE hour = :hour AND model_id IN :models",
        {"hour": run.hour, "models": models},
    )
    # Later hours too: a rerun of an earlier hour must see what they requested or sent.
    reach = timedelta(hours=history_hours(settings))
    history = wh.query(
        f"SELECT * FROM {REQUESTS} WHERE hour > :start AND hour < :end",
        {"start": run.hour - reach, "end": run.hour + reach},
    )
    history = rem.normalise(history) if len(history) else rem.empty_requests()
    throttling = history[history["mode"].isin(guardrails.throttled_by(rem.mode_label(run.mode)))]
    recent = load_recent(wh, settings, run.hour, models, throttling)

    def answers(asked: list[str]) -> dict[str, str]:
        rules = alert_settings(settings, asked, override_labels(wh, settings, asked))
        anomalies = anomaly_signals(wh, asked, run.hour)
        return answered_alerts(anomalies, settings.alerts, run.hour, rules)

    outbox = plan_requests(scores, history, recent, run.hour, run.mode, settings, models, answers)
    before = history[(history["hour"] == pd.Timestamp(run.hour)) & history["model_id"].isin(models)]
    with wh.transaction():
        where = "hour = :hour AND model_id IN :models"
        wh.replace(REQUESTS, outbox, where, {"hour": run.hour, "models": models})
        _audit(wh, before, outbox, "modelwatch", run.run_id)
    return requests_summary(outbox, run.hour)


def _audit(
    wh: Warehouse, before: pd.DataFrame, after: pd.DataFrame, actor: str, run_id: str
) -> int:
    """Append one event per real transition (inside the caller's transaction)."""
    ids = sorted(set(before["request_id"]) | set(after["request_id"]))
    if not ids:
        return 0
    seqs = wh.query(
        f"SELECT request_id, MAX(seq) AS seq FROM {EVENTS} WHERE request_id IN :ids "
        "GROUP BY request_id",
        {"ids": ids},
    )
    last = {r.request_id: int(r.seq) for r in seqs.itertuples(index=False)}
    events = rem.transitions(before, after, last, actor, run_id, _now())
    if len(events):
        wh.insert(EVENTS, events)
    return len(events)


def pending_work(wh: Warehouse, run: Run, models: list[str]) -> bool:
    """Whether remediation has work without an anomaly this hour: requests to send or retry,
    or a scaled-up model that may scale back down."""
    cfg = run.settings.remediation
    if not models:
        return False
    found = wh.query(
        f"SELECT COUNT(*) AS n FROM {REQUESTS} WHERE model_id IN :models AND hour <= :hour AND ("
        "(mode = 'live' AND status IN ('approved', 'failed') AND attempts < :max_attempts "
        " AND hour >= :retry_from) "
        "OR (action = 'scale_up' AND status IN :active AND hour >= :down_from))",
        {
            "models": models,
            "hour": run.hour,
            "max_attempts": cfg.max_attempts,
            "retry_from": run.hour - timedelta(hours=cfg.retry_hours),
            "active": list(rem.ACTIVE),
            "down_from": run.hour - timedelta(hours=cfg.scale_down.lookback_hours),
        },
    )
    return int(found["n"].iloc[0]) > 0


def record_decision(
    run: Run,
    wh: Warehouse,
    request_ids: Collection[str],
    approved: bool,
    actor: str,
    why: str,
) -> dict[str, Any]:
    """The operator's answer to the approval task, applied to the requests it showed that
    still wait (a request decided meanwhile, e.g. by a rerun's approval, is left alone)."""
    ids = sorted(set(request_ids))
    if not ids:
        return {"decided": 0, "approved": approved}
    with wh.transaction():
        before = wh.query(f"SELECT * FROM {REQUESTS} WHERE request_id IN :ids", {"ids": ids})
        before = rem.normalise(before)
        after = rem.apply_decision(before, ids, approved, actor, why)
        changed = after[after["status"] != before["status"]]
        if len(changed):
            wh.replace(
                REQUESTS, changed, "request_id IN :ids", {"ids": changed["request_id"].tolist()}
            )
            _audit(
                wh,
                before[before["request_id"].isin(changed["request_id"])],
                changed,
                actor,
                run.run_id,
            )
    return {"decided": len(changed), "approved": approved, "by": actor}


def dispatch_due(
    run: Run, wh: Warehouse, models: list[str], targets: rem.Resolver
) -> dict[str, Any]:
    """Send this run's approved requests, and retry failed ones of the last `retry_hours`.

    Dry runs and backfills send nothing (their rows are never `approved`, and this step is not
    even asked to run for them).
    """
    cfg = run.settings.remediation
    if run.mode.is_backfill or run.mode.dry_run or not models:
        return {"sent": 0, "statuses": {}}
    due = wh.query(
        f"SELECT * FROM {REQUESTS} WHERE model_id IN :models AND hour <= :hour "
        "AND hour >= :since AND mode = 'live' AND status IN ('approved', 'failed') "
        "AND attempts < :max_attempts",
        {
            "models": models,
            "hour": run.hour,
            "since": run.hour - timedelta(hours=cfg.retry_hours),
            "max_attempts": cfg.max_attempts,
        },
    )
    if due.empty:
        return {"sent": 0, "statuses": {}}
    due = rem.normalise(due)
    changed = rem.dispatch(due, targets, cfg)
    if changed.empty:
        return {"sent": 0, "statuses": {}}
    ids = changed["request_id"].tolist()
    with wh.transaction():
        now = rem.normalise(
            wh.query(f"SELECT * FROM {REQUESTS} WHERE request_id IN :ids", {"ids": ids})
        )
        was = dict(zip(due["request_id"], due["status"], strict=True))
        still = now[
            [was.get(r) == s for r, s in zip(now["request_id"], now["status"], strict=True)]
        ]
        moved = sorted(set(ids) - set(still["request_id"]))
        if moved:
            log.warning("requests changed while being sent, left as they are: %s", moved)
        changed = changed[changed["request_id"].isin(still["request_id"])]
        if len(changed):
            wh.replace(
                REQUESTS, changed, "request_id IN :ids", {"ids": changed["request_id"].tolist()}
            )
            _audit(wh, still, changed, "modelwatch", run.run_id)
    return {
        "sent": int(changed["status"].isin([rem.DISPATCHED, rem.APPLIED]).sum()),
        "statuses": {str(k): int(v) for k, v in changed["status"].value_counts().items()},
    }
