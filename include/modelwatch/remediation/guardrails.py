"""Guardrails: whether a proposed remediation may happen, and why not.

Policies (`modelwatch.remediation.policies`) say what would help, sized within the replica
bounds and step limits (`policies.clamp_step`). The guardrails here decide whether it may
happen: a cooldown per model and action, a scale request still in flight, fleet-wide caps per
hour and per day, dry run, never from a backfill, and an operator's approval for large actions
(quarantined data never gets here: those models are not scored). Each decision is an outbox row
(`modelwatch.remediation.states`) with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.config import RemediationConfig
from modelwatch.remediation.policies import SCALE_DOWN, SCALE_UP, Proposal
from modelwatch.remediation.states import (
    ACTIVE,
    APPROVED,
    AWAITING_APPROVAL,
    COOLING,
    FAILED,
    LIVE_KEPT,
    MODE_LIVE,
    PROPOSED,
    REQUEST_COLUMNS,
    RETRYING,
    SKIPPED,
    TAKEN,
    empty_requests,
    mode_label,
    normalise,
    records,
)
from modelwatch.run import RunMode


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


@dataclass
class Throttle:
    """Other rows that throttle this run, filtered once by mode: of earlier hours and of later
    ones, since a rerun of an earlier hour must respect what later hours already did."""

    rows: pd.DataFrame

    def near(
        self, model: str, action: str, hour: datetime, hours: int, statuses: Sequence[str]
    ) -> pd.DataFrame:
        """The model's rows of `action` less than `hours` before or after `hour`, oldest first."""
        r = self.rows
        gap = (r["hour"] - pd.Timestamp(hour)).abs()
        hit = r[
            (r["model_id"] == model)
            & (r["action"] == action)
            & (gap < pd.Timedelta(hours=hours))
            & r["status"].isin(statuses)
        ]
        return hit.sort_values("hour")

    def last(
        self, model: str, action: str, hour: datetime, hours: int, statuses: Sequence[str]
    ) -> Any:
        """The latest of `near`, or None."""
        hit = self.near(model, action, hour, hours, statuses)
        return None if hit.empty else hit.iloc[-1]

    def count(self, since: datetime, until: datetime) -> int:
        """Active fleet actions with since < hour <= until."""
        r = self.rows
        return int(((r["hour"] > since) & (r["hour"] <= until) & r["status"].isin(TAKEN)).sum())


def decide(
    proposals: Sequence[Proposal],
    hour: datetime,
    history: pd.DataFrame,
    mode: RunMode,
    cfg: RemediationConfig,
    owned: Collection[str] | None = None,
) -> pd.DataFrame:
    """Pass proposals through the guardrails and return this hour's outbox rows for `owned`.

    `history` holds outbox rows of the fleet around this hour (cooldowns, in-flight requests
    and caps): earlier hours, this hour's own rows (a rerun keeps what must not be undone) and
    later hours (a rerun of an earlier hour must not act beside what they did). `owned` are
    the models whose rows of this hour the run replaces (None: every model).
    Nothing is sent from here: live requests end `approved` or `awaiting_approval`, and the
    dispatch step sends them.
    """
    history = normalise(history) if len(history) else empty_requests()
    run_mode = mode_label(mode)
    this_hour = history["hour"] == pd.Timestamp(hour)
    mine = this_hour & (history["model_id"].isin(owned) if owned is not None else True)
    own = {r["request_id"]: r for r in records(history[mine])}
    others = history[~mine]
    throttle = Throttle(_retrying(others[others["mode"].isin(throttled_by(run_mode))], cfg))
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
        cooling = throttle.last(p.model_id, p.action, hour, cooldown, COOLING)
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
    never applied) would compound it; HPA users know the overshoot. A request of a later hour
    (this run is a rerun) always blocks: this hour's observed replicas predate it.
    """
    if p.action not in (SCALE_UP, SCALE_DOWN) or p.from_replicas is None or not cfg.inflight_hours:
        return None
    near = throttle.near(p.model_id, p.action, hour, cfg.inflight_hours, TAKEN)
    later = near[near["hour"] > pd.Timestamp(hour)]
    if len(later):
        prev = later.iloc[-1]
        when = pd.Timestamp(prev["hour"]).to_pydatetime()
        return (
            f"in flight: {p.action} at {when:%Y-%m-%d %H:%M} ({prev['status']}) was requested "
            f"after this hour, whose observed {p.from_replicas} replicas are out of date"
        )
    prev = None if near.empty else near.iloc[-1]
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
