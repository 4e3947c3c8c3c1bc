"""Remediation: from an anomaly's signature to a guarded, idempotent request in the outbox.

Policy decides what would help (capacity saturation -> scale up by the HPA formula); guardrails
decide whether it may happen (bounds, step size, cooldown, a fleet-wide cap, dry run, never on
quarantined data, never from a backfill). Every decision is a row in `mw_remediation_requests`
keyed on (model, hour, action), so a rerun finds its own row instead of acting twice.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from modelwatch.config import RemediationConfig
from modelwatch.window import RunMode

log = logging.getLogger(__name__)

SCALE_UP = "scale_up"
PROPOSED, DISPATCHED, FAILED, SKIPPED = "proposed", "dispatched", "failed", "skipped"
#: Statuses that count as an action taken (or about to be) for cooldowns and caps.
ACTIVE = ("proposed", "awaiting_approval", "approved", "dispatched", "applied")

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
]


@dataclass
class Proposal:
    model_id: str
    action: str
    from_replicas: int
    to_replicas: int
    reason: str
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def request_id(self, hour: datetime) -> str:
        return f"{self.model_id}:{hour:%Y%m%dT%H}:{self.action}"


def _explained(score_row: Any) -> dict[str, dict[str, float]]:
    return {e["metric"]: e for e in json.loads(score_row.explanation or "[]")}


def desired_replicas(replicas: int, utilisation: float, cfg: RemediationConfig) -> int | None:
    """HPA's rule: ceil(replicas * utilisation / target), unless within the tolerance band;
    then clamped by the step limit and the replica bounds."""
    target = cfg.scale_up.target_utilisation
    ratio = utilisation / target
    # Rounded so float noise (0.8 / 0.6 * 9 = 12.000000000000002) does not add a replica.
    if round(abs(ratio - 1.0), 9) <= cfg.scale_up.tolerance:
        return None
    want = math.ceil(round(replicas * ratio, 9))
    want = max(replicas - cfg.max_step, min(want, replicas + cfg.max_step))
    want = max(cfg.min_replicas, min(cfg.max_replicas, want))
    return want if want != replicas else None


def propose_scale_up(score_row: Any, cfg: RemediationConfig) -> Proposal | None:
    """Capacity saturation: traffic up, latency up, CPU above target -> scale up.

    A saturated CPU reads at most 100 %, which hides how much demand there really is; so the
    utilisation used is the larger of the observed CPU and the baseline CPU scaled by the
    traffic increase.
    """
    ex = _explained(score_row)
    try:
        lat_z = max(ex["latency_p99_ms"]["robust_z"], ex["latency_p50_ms"]["robust_z"])
        traffic, cpu, replicas = ex["request_rate"], ex["cpu_util"], ex["replicas"]
    except KeyError:
        return None
    policy = cfg.scale_up
    if lat_z < policy.min_latency_z or traffic["robust_z"] < policy.min_traffic_z:
        return None
    if cpu["observed"] <= policy.target_utilisation * (1 + policy.tolerance):
        return None
    n = max(1, round(replicas["observed"]))
    demand = cpu["observed"]
    if traffic["baseline"] > 0 and cpu["baseline"] > 0:
        demand = max(demand, cpu["baseline"] * traffic["observed"] / traffic["baseline"])
    want = desired_replicas(n, demand, cfg)
    if want is None or want <= n:
        return None
    return Proposal(
        score_row.model_id,
        SCALE_UP,
        n,
        want,
        f"capacity saturation: traffic z {traffic['robust_z']:+.1f}, latency z {lat_z:+.1f}, "
        f"CPU {cpu['observed']:.0%} against a {policy.target_utilisation:.0%} target; "
        f"estimated utilisation {demand:.0%} -> {n} to {want} replicas",
        float(score_row.score),
        {
            "utilisation": round(demand, 4),
            "target_utilisation": policy.target_utilisation,
            "request_rate": traffic,
            "cpu_util": cpu,
            "latency_robust_z": round(lat_z, 3),
        },
    )


POLICIES: tuple[Callable[[Any, RemediationConfig], Proposal | None], ...] = (propose_scale_up,)


def propose(scores: pd.DataFrame, cfg: RemediationConfig) -> list[Proposal]:
    """Apply every policy to the hour's anomalous, scored models (never to quarantined ones)."""
    out = []
    eligible = scores[(scores["status"] == "scored") & scores["is_anomaly"].astype(bool)]
    for row in eligible.itertuples(index=False):
        for policy in POLICIES:
            p = policy(row, cfg)
            if p is not None:
                out.append(p)
    return out


class Target(Protocol):
    """Where approved requests go (Kubernetes, a webhook, ...)."""

    name: str

    def apply(self, request: dict[str, Any]) -> tuple[bool, str]: ...


class LogTarget:
    """Logs the request: the default target until a real one is configured."""

    name = "log"

    def apply(self, request: dict[str, Any]) -> tuple[bool, str]:
        log.warning("remediation %s: %s", request["request_id"], request["reason"])
        return True, "logged"


def decide(
    proposals: Sequence[Proposal],
    hour: datetime,
    history: pd.DataFrame,
    mode: RunMode,
    cfg: RemediationConfig,
    target: Target | None = None,
) -> pd.DataFrame:
    """Pass proposals through the guardrails and return this hour's outbox rows.

    `history` holds earlier outbox rows (for cooldowns) and this hour's own rows (so a rerun
    keeps a request already dispatched instead of dispatching it again).
    """
    target = target or LogTarget()
    cooldown_from = hour - timedelta(hours=cfg.cooldown_hours)
    earlier = history[
        (history["hour"] < hour)
        & (history["hour"] > cooldown_from)  # an action at 09 with a 3 h cooldown allows 12
        & history["status"].isin(ACTIVE)
    ]
    own = {
        r.request_id: r._asdict() for r in history[history["hour"] == hour].itertuples(index=False)
    }
    taken = 0
    rows = []
    for p in sorted(proposals, key=lambda p: (-p.score, p.model_id)):
        rid = p.request_id(hour)
        prev = own.get(rid)
        if prev is not None and prev["status"] in (DISPATCHED, "applied"):
            rows.append(prev)
            taken += 1
            continue
        row = {
            "request_id": rid,
            "model_id": p.model_id,
            "hour": hour,
            "action": p.action,
            "from_replicas": p.from_replicas,
            "to_replicas": p.to_replicas,
            "mode": "backfill" if mode.is_backfill else ("dry_run" if mode.dry_run else "live"),
            "reason": p.reason,
            "evidence": json.dumps(p.evidence, sort_keys=True),
        }
        cooling = earlier[(earlier["model_id"] == p.model_id) & (earlier["action"] == p.action)]
        if not cooling.empty:
            last = pd.Timestamp(cooling["hour"].max()).to_pydatetime()
            row |= {
                "status": SKIPPED,
                "status_reason": f"cooldown: {p.action} at {last:%Y-%m-%d %H:%M}",
            }
        elif taken >= cfg.max_actions_per_hour:
            row |= {"status": SKIPPED, "status_reason": "fleet cap: max_actions_per_hour reached"}
        elif mode.is_backfill:
            row |= {
                "status": PROPOSED,
                "status_reason": "backfill: recorded what would have been done",
            }
            taken += 1
        elif mode.dry_run:
            row |= {"status": PROPOSED, "status_reason": "dry run: recorded, not dispatched"}
            taken += 1
        else:
            try:
                ok, detail = target.apply(row)
            except Exception as exc:  # a broken target fails this request, not the run
                log.exception("remediation target %s failed for %s", target.name, rid)
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            row |= {
                "status": DISPATCHED if ok else FAILED,
                "status_reason": f"{target.name}: {detail}",
            }
            taken += 1
        rows.append(row)
    produced = {r["request_id"] for r in rows}
    # A request already dispatched stays on record even if this rerun would not propose it.
    rows.extend(
        r
        for rid, r in own.items()
        if rid not in produced and r["status"] in (DISPATCHED, "applied")
    )
    frame = pd.DataFrame(rows, columns=REQUEST_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    return frame
