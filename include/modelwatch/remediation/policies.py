"""Remediation policies: which anomaly signature calls for which action.

Each policy looks at one model's hour (its score row and explanation) and, where it needs more
than one hour, at the model's recent raw metrics, scores and outbox rows; it returns a `Proposal`
or None. Policies only say what would help. Whether it may happen (bounds, cooldowns, caps,
approval, dry run, backfill) is for the guardrails in `modelwatch.remediation.guardrails`.

- capacity saturation (traffic, latency and CPU up): scale_up to HPA's
  ceil(replicas * utilisation / target), outside a tolerance band;
- recovered for a stabilisation window after a scale-up, with spare capacity: scale_down, a
  step at a time;
- an error burst (or a latency regression) right after a model version change: rollback;
- memory rising hour after hour (a leak): restart (rolling);
- a data-quality failure or an outage: nothing (those models are never scored, so never
  eligible); alerting handles them.

One model gets at most one action an hour, the first that matches in `PRIORITY` order: a
deploy that broke the model is rolled back rather than scaled around.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch import schema
from modelwatch.config import RemediationConfig

SCALE_UP, SCALE_DOWN, ROLLBACK, RESTART = "scale_up", "scale_down", "rollback", "restart"
HOUR = timedelta(hours=1)


@dataclass
class Proposal:
    """What a policy would do for one model in one hour, and why."""

    model_id: str
    action: str
    from_replicas: int | None
    to_replicas: int | None
    reason: str
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)

    def request_id(self, hour: datetime) -> str:
        """The outbox key: one request per model, hour and action, whatever reruns happen."""
        return f"{self.model_id}:{hour:%Y%m%dT%H}:{self.action}"


@dataclass
class Recent:
    """What the multi-hour policies need besides the hour's score rows.

    metrics: raw rows (model_id, ts, memory_util, model_version, ...) of the last hours;
    scores: `mw_scores` rows of the last hours; requests: earlier outbox rows.
    """

    metrics: pd.DataFrame
    scores: pd.DataFrame
    requests: pd.DataFrame
    _scaled_up: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    def scaled_up(self) -> frozenset[str]:
        """The models with a scale-up among the earlier requests (found once): the recovery
        policy runs for every quiet model of the hour, and filtering the requests per model
        cost 3 ms each, 6 s an hour at 2,000 models."""
        if self._scaled_up is None:
            req = self.requests
            self._scaled_up = frozenset(req.loc[req["action"] == SCALE_UP, "model_id"].astype(str))
        return self._scaled_up


def explained(score_row: Any) -> dict[str, dict[str, float]]:
    """The explanation of a score row, by metric."""
    entries = json.loads(getattr(score_row, "explanation", None) or "[]")
    # a metric without a finite value this hour (null observed, baseline or z) says nothing a
    # policy can act on: leave it out rather than compare None
    return {
        e["metric"]: e
        for e in entries
        if all(e.get(k) is not None for k in ("observed", "baseline", "robust_z"))
    }


def clamp_step(replicas: int, want: int, cfg: RemediationConfig) -> int:
    """Bound a new replica count by the step limits (pods and percent) and the replica bounds."""
    step = min(cfg.max_step, max(1, math.floor(replicas * cfg.max_step_percent / 100 + 1e-9)))
    want = max(replicas - step, min(want, replicas + step))
    return max(cfg.min_replicas, min(cfg.max_replicas, want))


def desired_replicas(replicas: int, utilisation: float, cfg: RemediationConfig) -> int | None:
    """HPA's rule: ceil(replicas * utilisation / target), unless within the tolerance band;
    then clamped by the step limits and the replica bounds. None: nothing to change."""
    ratio = utilisation / cfg.scale_up.target_utilisation
    # Rounded so float noise (0.8 / 0.6 * 9 = 12.000000000000002) does not add a replica.
    if round(abs(ratio - 1.0), 9) <= cfg.scale_up.tolerance:
        return None
    want = clamp_step(replicas, math.ceil(round(replicas * ratio, 9)), cfg)
    return want if want != replicas else None


# ------------------------------------------------------------------------------------- scale up
def propose_scale_up(
    score_row: Any, cfg: RemediationConfig, recent: Recent | None = None
) -> Proposal | None:
    """Capacity saturation: traffic up, latency up, CPU above target -> scale up.

    A saturated CPU reads at most 100 %, which hides how much demand there really is; so the
    utilisation used is the larger of the observed CPU and the baseline CPU scaled by the
    traffic increase.
    """
    policy = cfg.scale_up
    if not policy.enabled:
        return None
    ex = explained(score_row)
    try:
        lat_z = max(ex["latency_p99_ms"]["robust_z"], ex["latency_p50_ms"]["robust_z"])
        traffic, cpu, replicas = ex["request_rate"], ex["cpu_util"], ex["replicas"]
    except KeyError:
        return None
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
            "formula": f"ceil({n} * {demand:.4f} / {policy.target_utilisation})",
            "request_rate": traffic,
            "cpu_util": cpu,
            "latency_robust_z": round(lat_z, 3),
        },
    )


# ----------------------------------------------------------------------------------- scale down
def propose_scale_down(
    score_row: Any, cfg: RemediationConfig, recent: Recent | None = None
) -> Proposal | None:
    """After a scale-up, once every hour of the stabilisation window was clean and had spare
    capacity, step down towards the largest recommendation of the window (HPA's scale-down
    stabilisation), never below the replicas the model had before the scale-up."""
    policy = cfg.scale_down
    if not policy.enabled or recent is None or bool(score_row.is_anomaly):
        return None
    model = score_row.model_id
    if str(model) not in recent.scaled_up():
        return None
    hour = pd.Timestamp(score_row.hour).to_pydatetime()
    req = recent.requests
    ups = req[
        (req["model_id"] == model)
        & (req["action"] == SCALE_UP)
        & (req["hour"] < hour)
        & (req["hour"] >= hour - timedelta(hours=policy.lookback_hours))
        & req["status"].isin(("proposed", "approved", "dispatched", "applied"))
    ]
    if ups.empty:
        return None
    start = hour - timedelta(hours=policy.stabilisation_hours - 1)
    sc = recent.scores
    window = sc[(sc["model_id"] == model) & (sc["hour"] >= start) & (sc["hour"] <= hour)]
    if len(window) < policy.stabilisation_hours:
        return None  # an hour missing (no data, not processed yet) is no evidence of recovery
    if (window["status"] != "scored").any() or window["is_anomaly"].astype(bool).any():
        return None
    current = None
    recommendations = []
    for row in window.sort_values("hour").itertuples(index=False):
        ex = explained(row)
        if "cpu_util" not in ex or "replicas" not in ex:
            return None
        n = max(1, round(ex["replicas"]["observed"]))
        ratio = ex["cpu_util"]["observed"] / cfg.scale_up.target_utilisation
        keep = round(abs(ratio - 1.0), 9) <= cfg.scale_up.tolerance
        recommendations.append(n if keep else math.ceil(round(n * ratio, 9)))
        current = n
    assert current is not None
    floor = int(ups["from_replicas"].min())
    target = max(max(recommendations), floor, cfg.min_replicas, current - policy.step)
    if target >= current:
        return None
    return Proposal(
        model,
        SCALE_DOWN,
        current,
        target,
        f"recovered: {policy.stabilisation_hours} clean hours with spare capacity after the "
        f"scale-up at {pd.Timestamp(ups['hour'].max()):%Y-%m-%d %H:%M}; "
        f"{current} to {target} replicas (largest recommendation {max(recommendations)}, "
        f"floor {floor})",
        0.0,
        {
            "recommendations": recommendations,
            "floor": floor,
            "stabilisation_hours": policy.stabilisation_hours,
        },
    )


# ------------------------------------------------------------------------------------- rollback
def version_change(metrics: pd.DataFrame, model: str, end: datetime) -> dict[str, Any] | None:
    """The model's latest version change before `end`: when, from which version, to which."""
    if schema.MODEL_VERSION not in metrics.columns:
        return None
    rows = metrics[(metrics[schema.MODEL_ID] == model) & (metrics[schema.TS] < end)]
    rows = rows.dropna(subset=[schema.MODEL_VERSION]).sort_values(schema.TS)
    if rows.empty:
        return None
    versions = rows[schema.MODEL_VERSION].astype(str).to_numpy()
    changed = [i for i in range(1, len(versions)) if versions[i] != versions[i - 1]]
    if not changed:
        return None
    i = changed[-1]
    return {
        "changed_at": pd.Timestamp(rows[schema.TS].iloc[i]).to_pydatetime(),
        "from_version": str(versions[i - 1]),
        "to_version": str(versions[i]),
        "current_version": str(versions[-1]),
        # a version seen before the change is a step back (a rollback), not a new deploy
        "new": str(versions[i]) not in set(versions[:i]),
    }


def propose_rollback(
    score_row: Any, cfg: RemediationConfig, recent: Recent | None = None
) -> Proposal | None:
    """An error burst (or a latency regression without more traffic) within `within_hours` of a
    version change: ask to roll back to the version before it."""
    policy = cfg.rollback
    if not policy.enabled or recent is None:
        return None
    ex = explained(score_row)
    signal = None
    err = ex.get("error_rate")
    if err and err["robust_z"] >= policy.min_error_z and err["observed"] >= policy.min_error_rate:
        signal = f"error burst: error rate {err['observed']:.1%} (z {err['robust_z']:+.1f})"
    elif policy.latency_regression and "latency_p99_ms" in ex and "latency_p50_ms" in ex:
        lat_z = max(ex["latency_p99_ms"]["robust_z"], ex["latency_p50_ms"]["robust_z"])
        traffic_z = ex.get("request_rate", {}).get("robust_z", 0.0)
        if lat_z >= policy.min_latency_z and traffic_z < cfg.scale_up.min_traffic_z:
            signal = f"latency regression: latency z {lat_z:+.1f} at traffic z {traffic_z:+.1f}"
    if signal is None:
        return None
    hour = pd.Timestamp(score_row.hour).to_pydatetime()
    end = hour + HOUR
    change = version_change(recent.metrics, score_row.model_id, end)
    if change is None or change["changed_at"] < end - timedelta(hours=policy.within_hours):
        return None
    if change["current_version"] != change["to_version"] or not change["new"]:
        return None  # moved on since, or the change was itself a step back: no ping-pong
    return Proposal(
        score_row.model_id,
        ROLLBACK,
        None,
        None,
        f"{signal} since version {change['to_version']} went live at "
        f"{change['changed_at']:%Y-%m-%d %H:%M}: roll back to {change['from_version']}",
        float(score_row.score),
        {
            "from_version": change["to_version"],
            "to_version": change["from_version"],
            "changed_at": change["changed_at"].isoformat(),
            "signal": signal,
        },
    )


# -------------------------------------------------------------------------------------- restart
def propose_restart(
    score_row: Any, cfg: RemediationConfig, recent: Recent | None = None
) -> Proposal | None:
    """Memory rising in every one of the last `ramp_hours` hours to a high level: a leak. A
    rolling restart frees it before the pods are killed for running out."""
    policy = cfg.restart
    if not policy.enabled or recent is None or "memory_util" not in recent.metrics.columns:
        return None
    hour = pd.Timestamp(score_row.hour).to_pydatetime()
    start = hour - timedelta(hours=policy.ramp_hours)
    m = recent.metrics
    rows = m[(m[schema.MODEL_ID] == score_row.model_id) & (m[schema.TS] >= start)]
    rows = rows[rows[schema.TS] < hour + HOUR]
    if rows.empty:
        return None
    hourly = rows.groupby(rows[schema.TS].dt.floor("h"))["memory_util"].mean()
    expected = pd.date_range(start, hour, freq="h")
    if len(hourly) != len(expected) or not (hourly.index == expected).all():
        return None  # a gap is no evidence of a ramp
    values = [float(v) for v in hourly.to_numpy()]
    rising = all(b > a for a, b in itertools.pairwise(values))
    rise = values[-1] - values[0]
    if not rising or rise < policy.min_rise or values[-1] < policy.min_memory:
        return None
    return Proposal(
        score_row.model_id,
        RESTART,
        None,
        None,
        f"memory leak: memory rose every hour for {policy.ramp_hours} h, "
        f"{values[0]:.0%} to {values[-1]:.0%}: rolling restart",
        float(score_row.score),
        {"hourly_memory": [round(v, 4) for v in values], "rise": round(rise, 4)},
    )


PolicyFn = Callable[[Any, RemediationConfig, "Recent | None"], "Proposal | None"]

#: First match wins, per model and hour.
PRIORITY: tuple[PolicyFn, ...] = (propose_rollback, propose_restart, propose_scale_up)
#: Policies for models that are not anomalous this hour.
RECOVERY: tuple[PolicyFn, ...] = (propose_scale_down,)


def propose(
    scores: pd.DataFrame, cfg: RemediationConfig, recent: Recent | None = None
) -> list[Proposal]:
    """Apply the policies to the hour's scored models (never to quarantined or silent ones):
    the anomaly policies to anomalous models, the recovery policies to the others."""
    out = []
    scored = scores[scores["status"] == "scored"]
    for row in scored.itertuples(index=False):
        model_cfg = cfg.for_model(row.model_id)
        policies = PRIORITY if bool(row.is_anomaly) else RECOVERY
        for policy in policies:
            p = policy(row, model_cfg, recent)
            if p is not None:
                out.append(p)
                break
    return out
