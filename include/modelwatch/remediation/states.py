"""Remediation requests: the outbox rows, their statuses, and how they move.

Every decision is a row of the outbox `mw_remediation_requests`, keyed on (model, hour, action),
so a rerun finds its own row instead of acting twice. Its status moves through

    proposed (dry run, backfill)           skipped (a guardrail said no, with the reason)
    awaiting_approval -> approved | rejected
    approved -> dispatched -> applied      approved | failed -> failed (retried) -> dispatched

and each change of a row is one row of `mw_remediation_events`, the audit trail. Whether a
request may be made at all is for `modelwatch.remediation.guardrails`. Dispatching is at least
once (a crash between the target's answer and the write may send a request again), so every
target is idempotent per request: absolute replica counts, a restart stamp derived from the
request, an `Idempotency-Key` header.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import pandas as pd

from modelwatch.config import RemediationConfig
from modelwatch.remediation.targets.base import APPLIED, DISPATCHED, FAILED, Outcome
from modelwatch.run import RunMode

log = logging.getLogger(__name__)

PROPOSED, AWAITING_APPROVAL, APPROVED, REJECTED = (
    "proposed",
    "awaiting_approval",
    "approved",
    "rejected",
)
SKIPPED = "skipped"
STATUSES = (PROPOSED, AWAITING_APPROVAL, APPROVED, REJECTED, DISPATCHED, APPLIED, FAILED, SKIPPED)
#: Statuses that count as an action taken (or about to be) for cooldowns and caps.
ACTIVE = (PROPOSED, AWAITING_APPROVAL, APPROVED, DISPATCHED, APPLIED)
#: A failed live request that later runs still retry: taken, like a sent one (for guardrails
#: only; the stored status stays `failed`).
RETRYING = "retrying"
#: What guardrails count as an action taken: cooldowns, caps, in-flight requests.
TAKEN = (*ACTIVE, RETRYING)
#: An operator's "no" also holds the same request back for the cooldown: no asking every hour.
COOLING = (*TAKEN, REJECTED)
#: What a live rerun must never undo: a decision by an operator, or a request sent or sending.
LIVE_KEPT = (AWAITING_APPROVAL, APPROVED, REJECTED, DISPATCHED, APPLIED, FAILED)
#: Where a request may be sent from.
SENDABLE = (APPROVED, FAILED)

MODE_LIVE, MODE_DRY, MODE_BACKFILL = "live", "dry_run", "backfill"
#: The approval task's options (Airflow's HITL operator); anything but APPROVE is a no.
APPROVE, REJECT = "Approve", "Reject"

REQUEST_COLUMNS = [
    "request_id",
    "model_id",
    "hour",
    "action",
    "from_replicas",
    "to_replicas",
    "mode",
    "status",
    "status_reason",
    "reason",
    "evidence",
    "score",
    "attempts",
    "decided_by",
    "target",
    "alert_id",
]

EVENT_COLUMNS = [
    "event_id",
    "request_id",
    "seq",
    "model_id",
    "hour",
    "action",
    "from_status",
    "to_status",
    "status_reason",
    "attempts",
    "actor",
    "run_id",
    "recorded_at",
]

#: The fields whose change is a transition worth an audit row.
_TRACKED = ("status", "status_reason", "mode", "to_replicas", "attempts", "decided_by")


def mode_label(mode: RunMode) -> str:
    return MODE_BACKFILL if mode.is_backfill else (MODE_DRY if mode.dry_run else MODE_LIVE)


def empty_requests() -> pd.DataFrame:
    return normalise(pd.DataFrame(columns=REQUEST_COLUMNS))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Outbox rows in one shape: every column, fixed dtypes (reruns compare equal)."""
    frame = frame.copy()
    for col in REQUEST_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    frame = frame[REQUEST_COLUMNS]
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    for col in ("from_replicas", "to_replicas", "attempts"):
        frame[col] = pd.array([None if pd.isna(v) else int(v) for v in frame[col]], dtype="Int64")
    frame["attempts"] = frame["attempts"].fillna(0)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype("float64")
    for col in ("decided_by", "target", "alert_id"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame.reset_index(drop=True)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with missing values as None (pandas' NA is not JSON, nor falsy)."""
    return [
        {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


# ------------------------------------------------------------------------------------- approval
def approval_request(rows: pd.DataFrame, hour: datetime) -> dict[str, Any]:
    """What the operator sees in Airflow's Required Actions: a subject and a Markdown body."""
    waiting = rows[rows["status"] == AWAITING_APPROVAL].sort_values("request_id")
    lines = [
        f"{len(waiting)} remediation request(s) for the hour {hour:%Y-%m-%d %H:00} UTC wait for "
        "approval. **Approve** sends all of them to their targets; **Reject** (or no answer "
        "before the timeout) drops them.",
        "",
        "| request | action | replicas | why | needs approval because |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in waiting.itertuples(index=False):
        reps = "" if pd.isna(r.from_replicas) else f"{int(r.from_replicas)} → {int(r.to_replicas)}"
        reason = str(r.reason).replace("|", "/")
        because = str(r.status_reason).removeprefix("large action: ").replace("|", "/")
        lines.append(f"| `{r.request_id}` | {r.action} | {reps} | {reason} | {because} |")
    return {
        "subject": f"modelwatch: approve {len(waiting)} remediation request(s) for "
        f"{hour:%Y-%m-%d %H:00}",
        "body": "\n".join(lines),
        "request_ids": waiting["request_id"].tolist(),
    }


def apply_decision(
    rows: pd.DataFrame, request_ids: Collection[str], approved: bool, actor: str, why: str
) -> pd.DataFrame:
    """The operator's answer, applied to the requests they were shown that still wait."""
    rows = normalise(rows)
    hit = rows["request_id"].isin(list(request_ids)) & (rows["status"] == AWAITING_APPROVAL)
    rows.loc[hit, "status"] = APPROVED if approved else REJECTED
    rows.loc[hit, "status_reason"] = why
    rows.loc[hit, "decided_by"] = actor
    return rows


# ------------------------------------------------------------------------------------- dispatch
Resolver = Callable[[str], Any]


def to_request(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON-safe request a target receives."""
    evidence = row.get("evidence") or "{}"
    return {
        "request_id": row["request_id"],
        "model_id": row["model_id"],
        "hour": pd.Timestamp(row["hour"]).isoformat(),
        "action": row["action"],
        "from_replicas": None if row["from_replicas"] is None else int(row["from_replicas"]),
        "to_replicas": None if row["to_replicas"] is None else int(row["to_replicas"]),
        "reason": row["reason"],
        "evidence": json.loads(evidence) if isinstance(evidence, str) else evidence,
    }


def dispatch(rows: pd.DataFrame, targets: Resolver, cfg: RemediationConfig) -> pd.DataFrame:
    """Send every sendable live request once, newest first per (model, action).

    An older failed request is superseded by a newer one for the same model and action (sending
    both would act twice); failures are retried by later runs up to `max_attempts`.
    Returns the rows that changed.
    """
    rows = normalise(rows)
    sendable = rows[
        (rows["mode"] == MODE_LIVE)
        & rows["status"].isin(SENDABLE)
        & (rows["attempts"] < cfg.max_attempts)
    ].sort_values(["hour", "score"], ascending=[False, False])
    changed = []
    seen: dict[tuple[str, str], str] = {}
    for row in records(sendable):
        key = (row["model_id"], row["action"])
        if key in seen:
            row |= {"status": SKIPPED, "status_reason": f"superseded by {seen[key]}"}
            changed.append(row)
            continue
        seen[key] = row["request_id"]
        name = cfg.for_model(row["model_id"]).target_for(row["action"])
        try:
            target = targets(name)
            if row["action"] not in target.actions:
                outcome = Outcome(FAILED, f"target {name} cannot {row['action']}", permanent=True)
            else:
                outcome = target.apply(to_request(row))
        except Exception as exc:  # a broken target fails this request, not the run
            log.exception("remediation target %s failed for %s", name, row["request_id"])
            outcome = Outcome(FAILED, f"{type(exc).__name__}: {exc}")
        attempts = int(row["attempts"]) + 1
        if outcome.status == FAILED and outcome.permanent:
            attempts = max(attempts, cfg.max_attempts)
        detail = f"{name}: {outcome.detail}"
        if outcome.status == FAILED and attempts >= cfg.max_attempts:
            detail += f" (no more retries after {int(row['attempts']) + 1} attempt(s))"
        row |= {
            "status": outcome.status,
            "status_reason": detail,
            "attempts": attempts,
            "target": name,
        }
        changed.append(row)
    return normalise(pd.DataFrame(changed, columns=REQUEST_COLUMNS))


# ---------------------------------------------------------------------------------------- audit
def transitions(
    before: pd.DataFrame,
    after: pd.DataFrame,
    last_seq: dict[str, int],
    actor: str,
    run_id: str,
    recorded_at: datetime,
) -> pd.DataFrame:
    """One audit row per request whose tracked fields changed (or that is new).

    Keyed on (request_id, seq): a rerun that reaches the same state adds nothing. A dry or
    backfill record that a rerun no longer proposes is logged as withdrawn.
    """
    prev = {r["request_id"]: r for r in records(normalise(before))} if len(before) else {}
    events = []

    def add(row: dict[str, Any], from_status: str | None, to_status: str, why: str) -> None:
        rid = row["request_id"]
        seq = last_seq.get(rid, 0) + 1
        last_seq[rid] = seq
        events.append(
            {
                "event_id": f"{rid}#{seq}",
                "request_id": rid,
                "seq": seq,
                "model_id": row["model_id"],
                "hour": row["hour"],
                "action": row["action"],
                "from_status": from_status,
                "to_status": to_status,
                "status_reason": why,
                "attempts": int(row["attempts"] or 0),
                "actor": row.get("decided_by") if to_status in (APPROVED, REJECTED) else actor,
                "run_id": run_id,
                "recorded_at": recorded_at,
            }
        )

    seen = set()
    for row in records(normalise(after)) if len(after) else []:
        rid = row["request_id"]
        seen.add(rid)
        old = prev.get(rid)
        if old is not None and all(_same(old[k], row[k]) for k in _TRACKED):
            continue
        add(row, None if old is None else old["status"], row["status"], row["status_reason"])
    for rid, old in prev.items():
        if rid not in seen:
            add(old, old["status"], SKIPPED, "withdrawn: a rerun no longer proposes it")
    frame = pd.DataFrame(events, columns=EVENT_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"]).astype("datetime64[us]")
    return frame


def _same(a: Any, b: Any) -> bool:
    a_na = a is None or (not isinstance(a, str) and pd.isna(a))
    b_na = b is None or (not isinstance(b, str) and pd.isna(b))
    if a_na or b_na:
        return a_na and b_na
    return a == b
