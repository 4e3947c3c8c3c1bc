"""Remediation: from an anomaly's signature to a guarded, idempotent, auditable request.

Policies (`modelwatch.remediation.policies`) say what would help. The guardrails here decide whether
it may happen: replica bounds and step limits, a cooldown per model and action, a scale request
still in flight, fleet-wide caps per hour and per day, never on quarantined data (those models are
not scored), dry run, never from a backfill, and an operator's approval for large actions.

Every decision is a row of the outbox `mw_remediation_requests`, keyed on (model, hour, action),
so a rerun finds its own row instead of acting twice. Its status moves through

    proposed (dry run, backfill)           skipped (a guardrail said no, with the reason)
    awaiting_approval -> approved | rejected
    approved -> dispatched -> applied      approved | failed -> failed (retried) -> dispatched

and each change of a row is one row of `mw_remediation_events`, the audit trail. Dispatching is
at least once (a crash between the target's answer and the write may send a request again), so
every target is idempotent per request: absolute replica counts, a restart stamp derived from
the request, an `Idempotency-Key` header.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.config import RemediationConfig
from modelwatch.remediation.policies import (
    RESTART,
    ROLLBACK,
    SCALE_DOWN,
    SCALE_UP,
    Proposal,
    Recent,
    desired_replicas,
    propose,
    propose_scale_up,
)
from modelwatch.remediation.targets.base import APPLIED, DISPATCHED, FAILED, Outcome
from modelwatch.remediation.targets.log import LogTarget
from modelwatch.run import RunMode

log = logging.getLogger(__name__)

__all__ = [
    "ACTIVE",
    "APPLIED",
    "APPROVED",
    "AWAITING_APPROVAL",
    "DISPATCHED",
    "EVENT_COLUMNS",
    "FAILED",
    "PROPOSED",
    "REJECTED",
    "REQUEST_COLUMNS",
    "RESTART",
    "ROLLBACK",
    "SCALE_DOWN",
    "SCALE_UP",
    "SKIPPED",
    "LogTarget",
    "Outcome",
    "Proposal",
    "Recent",
    "decide",
    "desired_replicas",
    "propose",
    "propose_scale_up",
]

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
_TAKEN = (*ACTIVE, RETRYING)
#: An operator's "no" also holds the same request back for the cooldown: no asking every hour.
COOLING = (*_TAKEN, REJECTED)
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


def throttled_by(run_mode: str) -> tuple[str, ...]:
    """The row modes that throttle a run of `run_mode` (see `counts_for`)."""
    return (MODE_LIVE, run_mode)


def counts_for(row_mode: str, run_mode: str) -> bool:
    """Whether an earlier row throttles this run (cooldowns, caps, in-flight).

    Real actions throttle every run; a simulation (dry run, backfill) is also throttled by its
    own kind of simulated actions, so it records what would really have happened. A backfill's
    or a dry run's records never hold back a real action.
    """
    return row_mode in (MODE_LIVE, run_mode)


def needs_approval(p: Proposal, cfg: RemediationConfig) -> str | None:
    """Why this proposal is large enough to wait for an operator, or None."""
    policy = cfg.approval
    if p.action in policy.actions:
        return f"{p.action} always needs approval"
    if p.from_replicas is not None and p.to_replicas is not None:
        step = abs(p.to_replicas - p.from_replicas)
        pct = 100.0 * step / max(1, p.from_replicas)
        if step > policy.max_auto_step or pct > policy.max_auto_step_percent:
            return (
                f"a step of {step} replicas ({pct:.0f} %) exceeds {policy.max_auto_step} "
                f"replicas or {policy.max_auto_step_percent:.0f} %"
            )
    return None


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
    for col in ("decided_by", "target"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame.reset_index(drop=True)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


@dataclass
class Throttle:
    """Earlier rows that throttle this run, filtered once by mode."""

    rows: pd.DataFrame

    def last(
        self, model: str, action: str, since: datetime, until: datetime, statuses: Sequence[str]
    ) -> Any:
        r = self.rows
        hit = r[
            (r["model_id"] == model)
            & (r["action"] == action)
            & (r["hour"] > since)
            & (r["hour"] < until)
            & r["status"].isin(statuses)
        ]
        return None if hit.empty else hit.sort_values("hour").iloc[-1]

    def count(self, since: datetime, until: datetime) -> int:
        """Active fleet actions with since < hour <= until."""
        r = self.rows
        return int(((r["hour"] > since) & (r["hour"] <= until) & r["status"].isin(_TAKEN)).sum())


def decide(
    proposals: Sequence[Proposal],
    hour: datetime,
    history: pd.DataFrame,
    mode: RunMode,
    cfg: RemediationConfig,
    owned: Collection[str] | None = None,
) -> pd.DataFrame:
    """Pass proposals through the guardrails and return this hour's outbox rows for `owned`.

    `history` holds outbox rows of the fleet from the last day (cooldowns, in-flight requests
    and caps) including this hour's own rows (a rerun keeps what must not be undone). `owned` are
    the models whose rows of this hour the run replaces (None: every model).
    Nothing is sent from here: live requests end `approved` or `awaiting_approval`, and the
    dispatch step sends them.
    """
    history = normalise(history) if len(history) else empty_requests()
    run_mode = mode_label(mode)
    this_hour = history["hour"] == pd.Timestamp(hour)
    mine = this_hour & (history["model_id"].isin(owned) if owned is not None else True)
    own = {r["request_id"]: r for r in _rows(history[mine])}
    earlier = history[~mine]
    throttle = Throttle(_retrying(earlier[earlier["mode"].isin(throttled_by(run_mode))], cfg))
    day_start = hour - timedelta(hours=24)
    taken_hour = throttle.count(hour - timedelta(hours=1), hour)
    taken_day = throttle.count(day_start, hour)

    def kept(prev: dict[str, Any] | None) -> bool:
        return prev is not None and prev["mode"] == MODE_LIVE and prev["status"] in LIVE_KEPT

    rows: list[dict[str, Any]] = []
    # A live request already decided, sent or failed stays as it is, and holds its place in
    # the caps, whatever this rerun would propose.
    for prev in own.values():
        if kept(prev):
            rows.append(prev)
            if prev["status"] in ACTIVE:
                taken_hour += 1
                taken_day += 1
    for p in sorted(proposals, key=lambda p: (-p.score, p.model_id, p.action)):
        rid = p.request_id(hour)
        if kept(own.get(rid)):
            continue
        mcfg = cfg.for_model(p.model_id)
        row: dict[str, Any] = {
            "request_id": rid,
            "model_id": p.model_id,
            "hour": hour,
            "action": p.action,
            "from_replicas": p.from_replicas,
            "to_replicas": p.to_replicas,
            "mode": run_mode,
            "reason": p.reason,
            "evidence": json.dumps(p.evidence, sort_keys=True, default=str),
            "score": p.score,
            "attempts": 0,
            "decided_by": None,
            "target": None,
        }
        cooldown = mcfg.cooldown(p.action)
        cooling = throttle.last(
            p.model_id, p.action, hour - timedelta(hours=cooldown), hour, COOLING
        )
        inflight = _in_flight(throttle, p, hour, mcfg)
        large = needs_approval(p, mcfg)
        if cooling is not None:
            last = pd.Timestamp(cooling["hour"]).to_pydatetime()
            row |= {
                "status": SKIPPED,
                "status_reason": f"cooldown: {p.action} at {last:%Y-%m-%d %H:%M} "
                f"({cooling['status']}), {cooldown} h",
            }
        elif inflight is not None:
            row |= {"status": SKIPPED, "status_reason": inflight}
        elif taken_hour >= cfg.max_actions_per_hour:
            row |= {"status": SKIPPED, "status_reason": "fleet cap: max_actions_per_hour reached"}
        elif taken_day >= cfg.max_actions_per_day:
            row |= {"status": SKIPPED, "status_reason": "fleet cap: max_actions_per_day reached"}
        else:
            taken_hour += 1
            taken_day += 1
            if mode.is_backfill:
                why = "backfill: recorded what would have been done"
                row |= {"status": PROPOSED, "status_reason": why}
            elif mode.dry_run:
                why = "dry run: recorded, not dispatched"
                if large:
                    why += f" (would wait for approval: {large})"
                row |= {"status": PROPOSED, "status_reason": why}
            elif large:
                row |= {"status": AWAITING_APPROVAL, "status_reason": f"large action: {large}"}
            else:
                row |= {
                    "status": APPROVED,
                    "status_reason": "auto-approved: within the approval limits",
                    "decided_by": "policy",
                }
        rows.append(row)
    return normalise(pd.DataFrame(rows, columns=REQUEST_COLUMNS))


def _retrying(rows: pd.DataFrame, cfg: RemediationConfig) -> pd.DataFrame:
    """Mark failed live requests that a later run will still retry as taken: a new request
    for the same model and action next to a retry would act twice."""
    rows = rows.copy()
    retry = (
        (rows["status"] == FAILED)
        & (rows["mode"] == MODE_LIVE)
        & (rows["attempts"] < cfg.max_attempts)
    )
    rows.loc[retry, "status"] = RETRYING
    return rows


def _in_flight(
    throttle: Throttle, p: Proposal, hour: datetime, cfg: RemediationConfig
) -> str | None:
    """A scale request of the same kind not yet visible in the observed replicas.

    Stacking a second scale-up on one that has not taken effect yet (pods pending, a dry run
    never applied) would compound it; HPA users know the overshoot.
    """
    if p.action not in (SCALE_UP, SCALE_DOWN) or p.from_replicas is None or not cfg.inflight_hours:
        return None
    since = hour - timedelta(hours=cfg.inflight_hours)
    prev = throttle.last(p.model_id, p.action, since, hour, _TAKEN)
    if prev is None or pd.isna(prev["to_replicas"]):
        return None
    target = int(prev["to_replicas"])
    pending = p.from_replicas < target if p.action == SCALE_UP else p.from_replicas > target
    if not pending:
        return None
    when = pd.Timestamp(prev["hour"]).to_pydatetime()
    return (
        f"in flight: {p.action} to {target} at {when:%Y-%m-%d %H:%M} ({prev['status']}) "
        f"not yet reflected in the observed {p.from_replicas} replicas"
    )


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
    for row in _rows(sendable):
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
    prev = {r["request_id"]: r for r in _rows(normalise(before))} if len(before) else {}
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
    for row in _rows(normalise(after)) if len(after) else []:
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
