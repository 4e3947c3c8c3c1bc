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

from modelwatch.alerting.overrides import alert_settings, override_labels
from modelwatch.config import Settings
from modelwatch.ingest.extract import read_metrics
from modelwatch.remediation import guardrails
from modelwatch.remediation import requests as rem
from modelwatch.remediation.answers import answered_alerts
from modelwatch.remediation.policies import HOUR, Recent, propose
from modelwatch.run import RunContext
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)

REQUESTS, EVENTS = "mw_remediation_requests", "mw_remediation_events"
#: The approval subject and body carry at most this many requests (the rest are counted).
MAX_BODY_ROWS = 50


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


def remediate_hour(
    ctx: RunContext, wh: Warehouse, settings: Settings, models: list[str]
) -> dict[str, Any]:
    """Propose, guard and record this hour's requests for `models`; return the XCom summary
    (with what waits for approval, for the approval task)."""
    cfg = settings.remediation
    scores = wh.query(
        "SELECT * FROM mw_scores WHERE hour = :hour AND model_id IN :models",
        {"hour": ctx.hour, "models": models},
    )
    # Later hours too: a rerun of an earlier hour must see what they requested or sent.
    reach = timedelta(hours=history_hours(settings))
    history = wh.query(
        f"SELECT * FROM {REQUESTS} WHERE hour > :start AND hour < :end",
        {"start": ctx.hour - reach, "end": ctx.hour + reach},
    )
    history = rem.normalise(history) if len(history) else rem.empty_requests()
    run_mode = rem.mode_label(ctx.mode)
    throttling = history[history["mode"].isin(guardrails.throttled_by(run_mode))]
    recent = load_recent(wh, settings, ctx.hour, models, throttling)
    proposals = propose(scores, cfg, recent)
    outbox = guardrails.decide(proposals, ctx.hour, history, ctx.mode, cfg, owned=models)
    asked = outbox["model_id"].tolist()
    rules = alert_settings(settings, asked, override_labels(wh, settings, asked))
    answers = answered_alerts(wh, settings.alerts, asked, ctx.hour, rules)
    outbox["alert_id"] = [answers.get(m) for m in outbox["model_id"]]
    before = history[(history["hour"] == pd.Timestamp(ctx.hour)) & history["model_id"].isin(models)]
    with wh.transaction():
        where = "hour = :hour AND model_id IN :models"
        wh.replace(REQUESTS, outbox, where, {"hour": ctx.hour, "models": models})
        _audit(wh, before, outbox, "modelwatch", ctx.run_id)
    approval = None
    waiting = outbox[outbox["status"] == rem.AWAITING_APPROVAL]
    if len(waiting):
        # the page shows the first MAX_BODY_ROWS; the answer covers every request it counts
        approval = rem.approval_request(waiting.head(MAX_BODY_ROWS), ctx.hour)
        approval["request_ids"] = waiting["request_id"].tolist()
    return {
        "requests": len(outbox),
        "statuses": {str(k): int(v) for k, v in outbox["status"].value_counts().items()},
        "approval": approval,
    }


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


def pending_work(wh: Warehouse, ctx: RunContext, settings: Settings, models: list[str]) -> bool:
    """Whether remediation has work without an anomaly this hour: requests to send or retry,
    or a scaled-up model that may scale back down."""
    cfg = settings.remediation
    if not models:
        return False
    found = wh.query(
        f"SELECT COUNT(*) AS n FROM {REQUESTS} WHERE model_id IN :models AND hour <= :hour AND ("
        "(mode = 'live' AND status IN ('approved', 'failed') AND attempts < :max_attempts "
        " AND hour >= :retry_from) "
        "OR (action = 'scale_up' AND status IN :active AND hour >= :down_from))",
        {
            "models": models,
            "hour": ctx.hour,
            "max_attempts": cfg.max_attempts,
            "retry_from": ctx.hour - timedelta(hours=cfg.retry_hours),
            "active": list(rem.ACTIVE),
            "down_from": ctx.hour - timedelta(hours=cfg.scale_down.lookback_hours),
        },
    )
    return int(found["n"].iloc[0]) > 0


def record_decision(
    ctx: RunContext,
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
                ctx.run_id,
            )
    return {"decided": len(changed), "approved": approved, "by": actor}


def dispatch_due(
    ctx: RunContext, wh: Warehouse, settings: Settings, models: list[str], targets: rem.Resolver
) -> dict[str, Any]:
    """Send this run's approved requests, and retry failed ones of the last `retry_hours`.

    Dry runs and backfills send nothing (their rows are never `approved`, and this step is not
    even asked to run for them).
    """
    cfg = settings.remediation
    if ctx.mode.is_backfill or ctx.dry_run or not models:
        return {"sent": 0, "statuses": {}}
    due = wh.query(
        f"SELECT * FROM {REQUESTS} WHERE model_id IN :models AND hour <= :hour "
        "AND hour >= :since AND mode = 'live' AND status IN ('approved', 'failed') "
        "AND attempts < :max_attempts",
        {
            "models": models,
            "hour": ctx.hour,
            "since": ctx.hour - timedelta(hours=cfg.retry_hours),
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
            _audit(wh, still, changed, "modelwatch", ctx.run_id)
    return {
        "sent": int(changed["status"].isin([rem.DISPATCHED, rem.APPLIED]).sum()),
        "statuses": {str(k): int(v) for k, v in changed["status"].value_counts().items()},
    }
