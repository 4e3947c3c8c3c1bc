"""Remediation: the HPA-style policy, and the guardrails that decide whether it may act."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest

from modelwatch.config import ApprovalPolicy, RemediationConfig, ScaleUpPolicy
from modelwatch.detection.score import SCORE_COLUMNS
from modelwatch.remediation.guardrails import decide
from modelwatch.remediation.policies import (
    SCALE_UP,
    Proposal,
    desired_replicas,
    propose,
    propose_scale_up,
)
from modelwatch.remediation.states import (
    APPLIED,
    APPROVED,
    AWAITING_APPROVAL,
    DISPATCHED,
    FAILED,
    PROPOSED,
    REJECTED,
    REQUEST_COLUMNS,
    SKIPPED,
    apply_decision,
    approval_request,
    dispatch,
    transitions,
)
from modelwatch.remediation.targets.base import Outcome
from modelwatch.remediation.targets.log import LogTarget
from modelwatch.run import RunMode

HOUR = datetime(2026, 11, 1, 9)
#: target 60 % +- 10 %, latency z >= 3, traffic z >= 2, replicas in [1, 50], step 10,
#: cooldown 3 h, at most 10 actions an hour, dry run.
CFG = RemediationConfig()
LIVE = RunMode("scheduled", notify=True, dry_run=False)
DRY = RunMode("scheduled", notify=True, dry_run=True)
BACKFILL = RunMode("backfill", notify=False, dry_run=True)
NO_HISTORY = pd.DataFrame(columns=REQUEST_COLUMNS)


def cfg(**changes: Any) -> RemediationConfig:
    return CFG.model_copy(update=changes)


# --------------------------------------------------------------------------------- score builders
def explained(
    *,
    rate: tuple[float, float, float] = (200.0, 100.0, 6.0),
    p50: tuple[float, float, float] = (40.0, 30.0, 2.0),
    p99: tuple[float, float, float] = (800.0, 120.0, 9.0),
    cpu: tuple[float, float, float] = (0.9, 0.45, 5.0),
    replicas: tuple[float, float, float] = (4.0, 4.0, 0.0),
    drop: tuple[str, ...] = (),
) -> str:
    """An explanation list: (observed, baseline, robust_z) per metric."""
    metrics = {
        "request_rate": rate,
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "cpu_util": cpu,
        "replicas": replicas,
    }
    return json.dumps(
        [
            {"metric": m, "observed": o, "baseline": b, "robust_z": z}
            for m, (o, b, z) in metrics.items()
            if m not in drop
        ]
    )


def score_row(
    model: str = "m1",
    score: float = 0.99,
    status: str = "scored",
    is_anomaly: bool | None = True,
    **explanation: Any,
) -> dict[str, Any]:
    return {
        "hour": HOUR,
        "model_id": model,
        "status": status,
        "score": score if status == "scored" else None,
        "threshold": 0.95,
        "is_anomaly": is_anomaly,
        "n_rows": 60,
        "n_train_rows": 10_000,
        "top_metrics": "latency_p99_ms,request_rate,cpu_util",
        "explanation": explained(**explanation),
    }


def scores(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=SCORE_COLUMNS)


def one(row: dict[str, Any], config: RemediationConfig = CFG) -> Proposal | None:
    (r,) = scores(row).itertuples(index=False)
    return propose_scale_up(r, config)


class FakeTarget:
    """Our own `Target` protocol, recorded: what `dispatch` asked it to apply."""

    name = "fake"
    actions = frozenset({SCALE_UP, "scale_down", "restart"})

    def __init__(self, status: str = DISPATCHED, detail: str = "ok", permanent: bool = False):
        self.outcome = Outcome(status, detail, permanent)
        self.applied: list[dict[str, Any]] = []

    def apply(self, request: dict[str, Any]) -> Outcome:
        self.applied.append(dict(request))
        return self.outcome


def proposal(
    model: str = "m1", score: float = 0.99, frm: int = 4, to: int = 6, action: str = SCALE_UP
) -> Proposal:
    return Proposal(model, action, frm, to, f"{model} is saturated", score, {"utilisation": 0.9})


def history_row(
    model: str = "m1", hours_ago: int = 1, status: str = DISPATCHED, action: str = SCALE_UP
) -> dict[str, Any]:
    hour = HOUR - timedelta(hours=hours_ago)
    return {
        "request_id": f"{model}:{hour:%Y%m%dT%H}:{action}",
        "model_id": model,
        "hour": hour,
        "action": action,
        "from_replicas": 4,
        "to_replicas": 6,
        "mode": "live",
        "status": status,
        "status_reason": "fake: ok",
        "reason": "earlier",
        "evidence": "{}",
    }


def history(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=REQUEST_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    return frame


def by_model(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    return {r.model_id: (r.status, r.status_reason) for r in frame.itertuples(index=False)}


# ------------------------------------------------------------------------------ desired_replicas
@pytest.mark.parametrize(
    ("replicas", "utilisation", "expected"),
    [
        (4, 0.9, 6),
        (10, 0.9, 15),
        (3, 0.8, 4),
        (9, 0.8, 12),  # 9 * 0.8 / 0.6 is exactly 12: float noise must not make it 13
        (5, 1.0, 9),
        (10, 0.3, 5),
        (1, 0.7, 2),
    ],
)
def test_desired_replicas_is_the_hpa_formula(replicas: int, utilisation: float, expected: int):
    exact = math.ceil(Fraction(replicas) * Fraction(str(utilisation)) / Fraction("0.6"))
    assert exact == expected
    assert desired_replicas(replicas, utilisation, CFG) == expected


def test_desired_replicas_matches_exact_arithmetic_over_a_grid() -> None:
    config = cfg(max_step=1000, max_replicas=1000, min_replicas=0)
    for replicas in range(1, 31):
        for pct in range(1, 101):
            ratio = Fraction(pct, 100) / Fraction(6, 10)
            exact = math.ceil(replicas * ratio)
            if abs(ratio - 1) <= Fraction(1, 10) or exact == replicas:
                exact = None  # inside the band (edges included), or nothing to change
            assert desired_replicas(replicas, pct / 100, config) == exact, (replicas, pct)


@pytest.mark.parametrize("utilisation", [0.6, 0.65, 0.55, 0.66, 0.54, 0.6 * 1.09, 0.6 * 0.91])
def test_no_change_inside_the_tolerance_band(utilisation: float) -> None:
    assert desired_replicas(4, utilisation, CFG) is None
    assert desired_replicas(40, utilisation, CFG) is None


def test_tolerance_band_follows_the_config() -> None:
    wide = cfg(scale_up=ScaleUpPolicy(tolerance=0.5))
    assert desired_replicas(4, 0.85, wide) is None
    assert desired_replicas(4, 0.85, CFG) == 6


def test_step_limit_clamps_scale_up() -> None:
    assert desired_replicas(10, 1.8, CFG) == 20  # wants 30
    assert desired_replicas(10, 1.8, cfg(max_step=3)) == 13


def test_step_limit_clamps_scale_down() -> None:
    # "Largest change of one action": 30 -> 3 would be a change of 27.
    assert desired_replicas(30, 0.06, CFG) == 20
    assert desired_replicas(30, 0.06, cfg(max_step=30)) == 3


def test_replica_bounds_clamp() -> None:
    assert desired_replicas(10, 1.2, cfg(max_replicas=12)) == 12  # wants 20
    assert desired_replicas(4, 0.1, cfg(min_replicas=3)) == 3  # wants 1
    assert desired_replicas(4, 0.1, CFG) == 1


def test_no_change_when_clamping_leaves_the_count_as_is() -> None:
    assert desired_replicas(10, 0.9, cfg(max_replicas=10)) is None
    assert desired_replicas(3, 0.1, cfg(min_replicas=3)) is None


# ------------------------------------------------------------------------------ propose_scale_up
def test_saturation_proposes_a_scale_up() -> None:
    p = one(score_row("hot", score=0.993))
    assert p is not None
    assert (p.model_id, p.action, p.from_replicas, p.to_replicas) == ("hot", SCALE_UP, 4, 6)
    assert p.score == pytest.approx(0.993)
    assert p.reason.startswith("capacity saturation")
    assert "4 to 6 replicas" in p.reason
    assert p.evidence["utilisation"] == pytest.approx(0.9)
    assert p.evidence["target_utilisation"] == 0.6
    assert p.evidence["latency_robust_z"] == pytest.approx(9.0)
    assert p.evidence["request_rate"]["observed"] == 200.0
    json.dumps(p.evidence)  # it is stored as JSON


def test_baseline_cpu_scaled_by_traffic_reveals_hidden_demand() -> None:
    # CPU reads 98 %, but at 3x the usual traffic the usual 50 % means ~150 % demand.
    p = one(score_row(rate=(300.0, 100.0, 8.0), cpu=(0.98, 0.5, 6.0)))
    assert p is not None
    assert p.evidence["utilisation"] == pytest.approx(1.5)
    assert p.to_replicas == 10  # ceil(4 * 1.5 / 0.6), not the 7 observed CPU alone gives


def test_observed_cpu_wins_when_it_is_the_larger() -> None:
    p = one(score_row(rate=(150.0, 100.0, 3.0), cpu=(0.9, 0.3, 6.0)))
    assert p is not None
    assert p.evidence["utilisation"] == pytest.approx(0.9)
    assert p.to_replicas == 6


def test_zero_baselines_fall_back_to_observed_cpu() -> None:
    p = one(score_row(rate=(200.0, 0.0, 6.0), cpu=(0.9, 0.45, 5.0)))
    assert p is not None
    assert p.evidence["utilisation"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    "explanation",
    [
        {"p50": (35.0, 30.0, 1.0), "p99": (300.0, 120.0, 2.9)},  # latency normal
        {"rate": (120.0, 100.0, 1.9)},  # traffic normal
        {"cpu": (0.65, 0.45, 3.0)},  # CPU inside the band above target
        {"cpu": (0.5, 0.45, 0.5)},  # CPU below target
        {"drop": ("cpu_util",)},
        {"drop": ("replicas",)},
        {"drop": ("request_rate",)},
        {"drop": ("latency_p50_ms",)},
    ],
)
def test_no_proposal_without_every_sign_of_saturation(explanation: dict[str, Any]) -> None:
    assert one(score_row(**explanation)) is None


def test_either_latency_percentile_is_enough() -> None:
    p = one(score_row(p50=(90.0, 30.0, 4.0), p99=(130.0, 120.0, 0.5)))
    assert p is not None
    assert p.evidence["latency_robust_z"] == pytest.approx(4.0)


def test_thresholds_follow_the_config() -> None:
    strict = cfg(scale_up=ScaleUpPolicy(min_latency_z=10.0))
    assert one(score_row(), strict) is None
    assert one(score_row()) is not None


def test_replica_count_is_rounded_and_at_least_one() -> None:
    p = one(score_row(replicas=(3.6, 4.0, -1.0)))
    assert p is not None
    assert p.from_replicas == 4
    p = one(score_row(replicas=(0.2, 1.0, -3.0)))
    assert p is not None
    assert p.from_replicas == 1


def test_no_proposal_when_already_at_max_replicas() -> None:
    assert one(score_row(replicas=(50.0, 50.0, 0.0))) is None


def test_empty_or_missing_explanation_proposes_nothing() -> None:
    row = score_row()
    row["explanation"] = "[]"
    assert one(row) is None
    row["explanation"] = None
    assert one(row) is None


# --------------------------------------------------------------------------------------- propose
def test_propose_only_acts_on_scored_anomalies() -> None:
    frame = scores(
        score_row("hot"),
        score_row("calm", is_anomaly=False),
        score_row("quarantined", status="quarantined", is_anomaly=True),
        score_row("new", status="insufficient_history", is_anomaly=None),
        score_row("silent", status="no_data", is_anomaly=None),
    )
    assert [p.model_id for p in propose(frame, CFG)] == ["hot"]


def test_quarantined_never_acts_even_with_a_saturated_signature() -> None:
    frame = scores(score_row("q1", status="quarantined"), score_row("q2", status="quarantined"))
    assert propose(frame, CFG) == []


def test_propose_with_no_scores() -> None:
    assert propose(scores(), CFG) == []


def test_anomalies_without_saturation_propose_nothing() -> None:
    assert propose(scores(score_row(cpu=(0.3, 0.3, 0.0))), CFG) == []


# ---------------------------------------------------------------------------------------- decide
def test_request_id_format() -> None:
    assert proposal("fraud-v2").request_id(HOUR) == "fraud-v2:20261101T09:scale_up"


def test_dry_run_records_a_proposal_and_approves_nothing() -> None:
    frame = decide([proposal()], HOUR, NO_HISTORY, DRY, CFG)
    assert list(frame.columns) == REQUEST_COLUMNS
    assert frame["hour"].dtype == "datetime64[us]"
    row = frame.iloc[0]
    assert row["request_id"] == "m1:20261101T09:scale_up"
    assert (row["status"], row["mode"]) == (PROPOSED, "dry_run")
    assert row["status_reason"] == "dry run: recorded, not dispatched"
    assert (row["from_replicas"], row["to_replicas"], row["attempts"]) == (4, 6, 0)
    assert row["hour"] == pd.Timestamp(HOUR)
    assert json.loads(row["evidence"]) == {"utilisation": 0.9}
    assert row["reason"] == "m1 is saturated"
    assert row["decided_by"] is None


def test_dry_run_says_when_it_would_have_waited_for_approval() -> None:
    frame = decide([proposal(frm=4, to=12)], HOUR, NO_HISTORY, DRY, CFG)
    assert frame["status"].iloc[0] == PROPOSED
    assert "would wait for approval: a step of 8 replicas (200 %)" in frame["status_reason"][0]


def test_backfill_records_a_proposal_whatever_dry_run_says() -> None:
    for mode in (BACKFILL, RunMode("backfill", notify=True, dry_run=False)):
        frame = decide([proposal(frm=4, to=14)], HOUR, NO_HISTORY, mode, CFG)
        assert (frame["status"].iloc[0], frame["mode"].iloc[0]) == (PROPOSED, "backfill")
        assert frame["status_reason"].iloc[0].startswith("backfill")


def test_live_small_step_is_auto_approved() -> None:
    frame = decide([proposal(frm=4, to=6)], HOUR, NO_HISTORY, LIVE, CFG)
    row = frame.iloc[0]
    assert (row["status"], row["mode"], row["decided_by"]) == (APPROVED, "live", "policy")
    assert row["status_reason"].startswith("auto-approved")


@pytest.mark.parametrize(
    ("frm", "to", "large"),
    [
        (4, 8, False),  # 4 replicas, 100 %: at both limits
        (4, 9, True),  # 5 replicas
        (10, 14, False),
        (2, 5, True),  # 3 replicas but 150 %
        (9, 5, False),  # a step down of 4
        (10, 5, True),
    ],
)
def test_live_large_steps_wait_for_approval(frm: int, to: int, large: bool) -> None:
    frame = decide([proposal(frm=frm, to=to)], HOUR, NO_HISTORY, LIVE, CFG)
    assert frame["status"].iloc[0] == (AWAITING_APPROVAL if large else APPROVED)


def test_rollback_always_waits_for_approval_and_limits_follow_the_config() -> None:
    rb = Proposal("m1", "rollback", None, None, "errors after v7", 0.99, {})
    frame = decide([rb], HOUR, NO_HISTORY, LIVE, CFG)
    assert frame["status"].iloc[0] == AWAITING_APPROVAL
    assert "rollback always needs approval" in frame["status_reason"][0]
    assert pd.isna(frame["from_replicas"][0]) and pd.isna(frame["to_replicas"][0])
    loose = cfg(approval=ApprovalPolicy(max_auto_step=20, max_auto_step_percent=500, actions=()))
    frame = decide([rb, proposal("m2", frm=4, to=12)], HOUR, NO_HISTORY, LIVE, loose)
    assert set(frame["status"]) == {APPROVED}


def test_per_model_overrides_apply_to_that_model_only() -> None:
    config = cfg(models={"strict": {"approval": {"max_auto_step": 0}}})
    frame = decide([proposal("strict"), proposal("easy")], HOUR, NO_HISTORY, LIVE, config)
    assert by_model(frame)["strict"][0] == AWAITING_APPROVAL
    assert by_model(frame)["easy"][0] == APPROVED


def test_no_proposals_no_rows() -> None:
    frame = decide([], HOUR, NO_HISTORY, LIVE, CFG)
    assert frame.empty
    assert list(frame.columns) == REQUEST_COLUMNS


# -------------------------------------------------------------------------------------- cooldown
@pytest.mark.parametrize("hours_ago", [1, 2])
@pytest.mark.parametrize("status", [DISPATCHED, PROPOSED, APPLIED, APPROVED, REJECTED])
def test_cooldown_skips_a_recent_action_on_the_same_model(hours_ago: int, status: str) -> None:
    past = history(history_row("m1", hours_ago=hours_ago, status=status))
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, LIVE, CFG)
    ((state, why),) = by_model(frame).values()
    assert state == SKIPPED
    assert why.startswith("cooldown")
    earlier = HOUR - timedelta(hours=hours_ago)
    assert f"{earlier:%Y-%m-%d %H:%M} ({status})" in why


def test_cooldown_ends_after_cooldown_hours() -> None:
    past = history(history_row("m1", hours_ago=CFG.cooldown_hours + 1))
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, LIVE, CFG)
    assert list(frame["status"]) == [APPROVED]


def test_cooldown_blocks_exactly_cooldown_hours() -> None:
    """An action at 06 with a 3 h cooldown blocks 07 and 08; at 09 the next one may go."""
    at_boundary = history(history_row("m1", hours_ago=CFG.cooldown_hours))
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, at_boundary, LIVE, CFG)
    assert list(frame["status"]) == [APPROVED]
    inside = history(history_row("m1", hours_ago=CFG.cooldown_hours - 1))
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, inside, LIVE, CFG)
    assert list(frame["status"]) == [SKIPPED]


def test_cooldown_follows_the_config_and_is_per_action() -> None:
    past = history(history_row("m1", hours_ago=5))
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, LIVE, cfg(cooldown_hours=6))
    assert list(frame["status"]) == [SKIPPED]
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, LIVE, cfg(cooldown_hours=0))
    assert list(frame["status"]) == [APPROVED]
    per_action = cfg(cooldowns={"scale_up": 6})
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, LIVE, per_action)
    assert list(frame["status"]) == [SKIPPED]


@pytest.mark.parametrize(
    "row",
    [
        history_row("m2", hours_ago=1),  # another model
        history_row("m1", hours_ago=1, action="restart"),  # another action
        history_row("m1", hours_ago=1, status=FAILED) | {"attempts": 3},  # given up
        history_row("m1", hours_ago=1, status=SKIPPED),
    ],
)
def test_cooldown_is_per_model_action_and_active_status(row: dict[str, Any]) -> None:
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, history(row), LIVE, CFG)
    assert by_model(frame)["m1"][0] == APPROVED


def test_a_failed_request_still_retried_counts_as_taken() -> None:
    """Its retry is coming: a new request beside it would act twice."""
    past = history(history_row("m1", status=FAILED) | {"attempts": 1})
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, LIVE, CFG)
    why = "cooldown: scale_up at 2026-11-01 08:00 (retrying), 3 h"
    assert by_model(frame)["m1"] == (SKIPPED, why)
    past = history(history_row("x", hours_ago=0, status=FAILED) | {"attempts": 1})
    frame = decide([proposal("a")], HOUR, past, LIVE, cfg(max_actions_per_hour=1), owned=["a"])
    assert by_model(frame)["a"][0] == SKIPPED  # and it holds its place in the caps


def test_cooldown_applies_in_dry_run_too() -> None:
    past = history(history_row("m1") | {"mode": "dry_run", "status": PROPOSED})
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, DRY, CFG)
    assert list(frame["status"]) == [SKIPPED]


def test_simulated_rows_never_hold_back_a_real_action() -> None:
    """A backfill's or a dry run's record is what would have happened, not what did."""
    for mode in ("dry_run", "backfill"):
        past = history(history_row("m1") | {"mode": mode, "status": PROPOSED})
        frame = decide([proposal("m1")], HOUR, past, LIVE, CFG)
        assert list(frame["status"]) == [APPROVED], mode
    # ... but a backfill is held back by its own replayed actions, and by real ones
    past = history(history_row("m1") | {"mode": "backfill", "status": PROPOSED})
    assert list(decide([proposal("m1")], HOUR, past, BACKFILL, CFG)["status"]) == [SKIPPED]
    past = history(history_row("m1", status=DISPATCHED))
    assert list(decide([proposal("m1")], HOUR, past, BACKFILL, CFG)["status"]) == [SKIPPED]


# -------------------------------------------------------------------------------------- in flight
def test_a_scale_up_not_yet_reflected_blocks_another_after_the_cooldown() -> None:
    """At 09 a scale-up 4 -> 6 was sent; at 13 the model still runs 4: do not stack another."""
    past = history(history_row("m1", hours_ago=4, status=DISPATCHED))
    frame = decide([proposal("m1", frm=4, to=7)], HOUR, past, LIVE, CFG)
    ((state, why),) = by_model(frame).values()
    assert state == SKIPPED
    assert why.startswith("in flight: scale_up to 6 at 2026-11-01 05:00 (dispatched)")
    assert "observed 4 replicas" in why
    # once the earlier request shows in the observed replicas, a new one may go
    frame = decide([proposal("m1", frm=6, to=8)], HOUR, past, LIVE, CFG)
    assert list(frame["status"]) == [APPROVED]
    # and the guard ends after inflight_hours
    frame = decide([proposal("m1", frm=4, to=7)], HOUR, past, LIVE, cfg(inflight_hours=4))
    assert list(frame["status"]) == [APPROVED]


# -------------------------------------------------------------------------------------- fleet cap
def test_fleet_cap_keeps_the_highest_scores() -> None:
    proposals = [
        proposal("a", 0.96),
        proposal("b", 0.999),
        proposal("c", 0.97),
        proposal("d", 0.995),
    ]
    frame = decide(proposals, HOUR, NO_HISTORY, LIVE, cfg(max_actions_per_hour=2))
    states = by_model(frame)
    assert {m: s for m, (s, _) in states.items()} == {
        "b": APPROVED,
        "d": APPROVED,
        "c": SKIPPED,
        "a": SKIPPED,
    }
    assert states["a"][1] == "fleet cap: max_actions_per_hour reached"
    assert list(frame["model_id"]) == ["b", "d", "c", "a"]


def test_fleet_cap_zero_blocks_everything() -> None:
    frame = decide(
        [proposal("a"), proposal("b")], HOUR, NO_HISTORY, LIVE, cfg(max_actions_per_hour=0)
    )
    assert set(frame["status"]) == {SKIPPED}


def test_fleet_cap_counts_dry_run_proposals() -> None:
    frame = decide(
        [proposal("a", 0.99), proposal("b", 0.98)],
        HOUR,
        NO_HISTORY,
        DRY,
        cfg(max_actions_per_hour=1),
    )
    assert {m: s for m, (s, _) in by_model(frame).items()} == {"a": PROPOSED, "b": SKIPPED}


def test_hourly_cap_counts_other_models_of_the_same_hour() -> None:
    """A partial rerun owns only its models; the others' actions this hour still count."""
    other = history(history_row("x", hours_ago=0, status=DISPATCHED))
    frame = decide([proposal("a")], HOUR, other, LIVE, cfg(max_actions_per_hour=1), owned=["a"])
    assert by_model(frame) == {"a": (SKIPPED, "fleet cap: max_actions_per_hour reached")}
    assert "x" not in set(frame["model_id"])  # not this run's row


def test_daily_cap_counts_the_last_24_hours_of_the_fleet() -> None:
    past = history(
        *(history_row(f"x{i}", hours_ago=h, status=DISPATCHED) for i, h in enumerate([1, 5, 23]))
    )
    frame = decide([proposal("a")], HOUR, past, LIVE, cfg(max_actions_per_day=3))
    assert by_model(frame)["a"] == (SKIPPED, "fleet cap: max_actions_per_day reached")
    older = history(
        *(history_row(f"x{i}", hours_ago=h, status=DISPATCHED) for i, h in enumerate([1, 5, 24]))
    )
    frame = decide([proposal("a")], HOUR, older, LIVE, cfg(max_actions_per_day=3))
    assert by_model(frame)["a"][0] == APPROVED


def test_skipped_by_cooldown_does_not_use_the_cap() -> None:
    proposals = [proposal("cool", 0.999, frm=6, to=8), proposal("next", 0.98)]
    past = history(history_row("cool"))
    frame = decide(proposals, HOUR, past, LIVE, cfg(max_actions_per_hour=1))
    assert {m: s for m, (s, _) in by_model(frame).items()} == {"cool": SKIPPED, "next": APPROVED}


# ----------------------------------------------------------------------------------------- reruns
@pytest.mark.parametrize(
    "status", [AWAITING_APPROVAL, APPROVED, REJECTED, DISPATCHED, APPLIED, FAILED]
)
def test_a_rerun_never_undoes_a_live_decision(status: str) -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, LIVE, CFG)
    first.loc[0, "status"] = status
    for mode in (LIVE, DRY, BACKFILL):
        again = decide([proposal("m1", to=7)], HOUR, first, mode, CFG)
        pd.testing.assert_frame_equal(again, first)


def test_rerun_keeps_a_dispatched_request_no_longer_proposed() -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, LIVE, CFG)
    first.loc[0, "status"] = DISPATCHED
    again = decide([], HOUR, first, LIVE, CFG)
    pd.testing.assert_frame_equal(again, first)


def test_rerun_counts_kept_requests_against_the_cap() -> None:
    first = decide([proposal("a", 0.99)], HOUR, NO_HISTORY, LIVE, CFG)
    again = decide(
        [proposal("a", 0.99), proposal("b", 0.98)],
        HOUR,
        first,
        LIVE,
        cfg(max_actions_per_hour=1),
    )
    assert {m: s for m, (s, _) in by_model(again).items()} == {"a": APPROVED, "b": SKIPPED}


def test_a_dry_rerun_replaces_an_earlier_dry_proposal() -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, DRY, CFG)
    again = decide([proposal("m1")], HOUR, first, DRY, CFG)
    pd.testing.assert_frame_equal(again, first)
    changed = decide([proposal("m1", to=7)], HOUR, first, DRY, CFG)
    assert list(changed["to_replicas"]) == [7]


# -------------------------------------------------------------------------------------- approval
def test_approval_request_lists_what_waits() -> None:
    frame = decide(
        [proposal("big", frm=4, to=12), proposal("small", frm=4, to=5)], HOUR, NO_HISTORY, LIVE, CFG
    )
    ask = approval_request(frame, HOUR)
    assert ask["request_ids"] == ["big:20261101T09:scale_up"]
    assert ask["subject"] == "modelwatch: approve 1 remediation request(s) for 2026-11-01 09:00"
    assert "| `big:20261101T09:scale_up` | scale_up | 4 → 12 |" in ask["body"]
    assert "small" not in ask["body"]


def test_a_decision_moves_only_the_requests_shown_that_still_wait() -> None:
    frame = decide(
        [proposal("a", frm=4, to=12), proposal("b", frm=4, to=12), proposal("c")],
        HOUR,
        NO_HISTORY,
        LIVE,
        CFG,
    )
    shown = ["a:20261101T09:scale_up", "c:20261101T09:scale_up"]
    out = apply_decision(frame, shown, True, "alice", "approved by alice in Airflow")
    states = {r.model_id: (r.status, r.decided_by) for r in out.itertuples()}
    assert states == {
        "a": (APPROVED, "alice"),
        "b": (AWAITING_APPROVAL, None),
        "c": (APPROVED, "policy"),
    }
    out = apply_decision(frame, shown, False, "timeout", "rejected: no answer")
    assert by_model(out)["a"] == (REJECTED, "rejected: no answer")


# -------------------------------------------------------------------------------------- dispatch
def approved(*proposals: Proposal, config: RemediationConfig = CFG) -> pd.DataFrame:
    frame = decide(list(proposals), HOUR, NO_HISTORY, LIVE, config)
    assert set(frame["status"]) == {APPROVED}
    return frame


def test_dispatch_sends_each_approved_request_once() -> None:
    target = FakeTarget(detail="scaled")
    out = dispatch(approved(proposal("m1")), lambda name: target, CFG)
    assert len(target.applied) == 1
    request = target.applied[0]
    assert request["request_id"] == "m1:20261101T09:scale_up"
    assert (request["from_replicas"], request["to_replicas"]) == (4, 6)
    assert request["evidence"] == {"utilisation": 0.9}
    json.dumps(request)  # a webhook sends it as it is
    row = out.iloc[0]
    assert (row["status"], row["status_reason"], row["attempts"]) == (DISPATCHED, "log: scaled", 1)
    assert row["target"] == "log"  # the name from the config, whatever the object
    target.applied.clear()
    assert dispatch(out, lambda name: target, CFG).empty  # dispatched: nothing left to send
    assert target.applied == []


def test_dispatch_skips_what_is_not_live_and_approved() -> None:
    dry = decide([proposal("m1")], HOUR, NO_HISTORY, DRY, CFG)
    waiting = decide([proposal("m2", to=20)], HOUR, NO_HISTORY, LIVE, CFG)
    target = FakeTarget()
    out = dispatch(pd.concat([dry, waiting]), lambda name: target, CFG)
    assert out.empty and target.applied == []


def test_failures_are_retried_until_max_attempts() -> None:
    rows = approved(proposal("m1"))
    for attempt in range(1, CFG.max_attempts + 1):
        rows = dispatch(rows, lambda name: FakeTarget(FAILED, "timeout"), CFG)
        assert (rows["status"][0], rows["attempts"][0]) == (FAILED, attempt)
    assert rows["status_reason"][0].endswith("(no more retries after 3 attempt(s))")
    assert dispatch(rows, lambda name: FakeTarget(), CFG).empty


def test_a_permanent_failure_is_not_retried() -> None:
    rows = dispatch(approved(proposal("m1")), lambda n: FakeTarget(FAILED, "404", True), CFG)
    assert (rows["status"][0], rows["attempts"][0]) == (FAILED, CFG.max_attempts)
    assert dispatch(rows, lambda name: FakeTarget(), CFG).empty


def test_a_target_that_cannot_do_the_action_fails_it_for_good() -> None:
    rb = Proposal("m1", "rollback", None, None, "errors after v7", 0.99, {})
    loose = cfg(approval=ApprovalPolicy(actions=()))
    out = dispatch(approved(rb, config=loose), lambda name: FakeTarget(), loose)
    assert out["status_reason"][0].startswith("log: target log cannot rollback (no more retries")
    assert out["attempts"][0] == loose.max_attempts


class RaisingTarget(FakeTarget):
    def apply(self, request: dict[str, Any]) -> Outcome:
        super().apply(request)
        raise ConnectionError("scale API unreachable")


def test_a_raising_target_fails_its_request_not_the_run() -> None:
    target = RaisingTarget()
    rows = approved(proposal("m1"), proposal("m2", score=0.5))
    out = dispatch(rows, lambda name: target, CFG)
    assert list(out["status"]) == [FAILED, FAILED]
    assert out["status_reason"].str.contains("scale API unreachable").all()
    assert len(target.applied) == 2  # the second request was still attempted


def test_a_newer_request_supersedes_an_older_failed_one() -> None:
    old = history_row("m1", hours_ago=1, status=FAILED) | {"attempts": 1}
    new = approved(proposal("m1", frm=4, to=7))
    target = FakeTarget()
    out = dispatch(pd.concat([history(old), new]), lambda name: target, CFG)
    assert [r["request_id"] for r in target.applied] == ["m1:20261101T09:scale_up"]
    assert by_model(out.iloc[1:])["m1"] == (SKIPPED, "superseded by m1:20261101T09:scale_up")


def test_default_target_logs(caplog: pytest.LogCaptureFixture) -> None:
    assert LogTarget().name == "log"
    with caplog.at_level("WARNING", logger="modelwatch.remediation.states"):
        out = dispatch(approved(proposal()), lambda name: LogTarget(), CFG)
    assert list(out["status"]) == [DISPATCHED]
    assert any("m1:20261101T09:scale_up" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------------------------------- audit
def test_transitions_record_only_real_changes() -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, LIVE, CFG)
    seq: dict[str, int] = {}
    events = transitions(NO_HISTORY, first, seq, "modelwatch", "run1", HOUR)
    assert events[["event_id", "from_status", "to_status", "actor"]].values.tolist() == [
        ["m1:20261101T09:scale_up#1", None, APPROVED, "policy"]  # auto-approved
    ]
    assert transitions(first, first.copy(), seq, "modelwatch", "run2", HOUR).empty
    sent = dispatch(first, lambda name: FakeTarget(), CFG)
    events = transitions(first, sent, seq, "modelwatch", "run3", HOUR)
    assert events[["event_id", "from_status", "to_status", "attempts"]].values.tolist() == [
        ["m1:20261101T09:scale_up#2", APPROVED, DISPATCHED, 1]
    ]


def test_transitions_log_an_operator_and_a_withdrawn_record() -> None:
    waiting = decide([proposal("m1", to=20)], HOUR, NO_HISTORY, LIVE, CFG)
    yes = apply_decision(waiting, waiting["request_id"], True, "alice", "approved by alice")
    events = transitions(waiting, yes, {}, "modelwatch", "r", HOUR)
    assert events[["to_status", "actor"]].values.tolist() == [[APPROVED, "alice"]]
    dry = decide([proposal("m2")], HOUR, NO_HISTORY, DRY, CFG)
    events = transitions(dry, decide([], HOUR, dry, DRY, CFG), {}, "modelwatch", "r", HOUR)
    assert events[["from_status", "to_status", "status_reason"]].values.tolist() == [
        [PROPOSED, SKIPPED, "withdrawn: a rerun no longer proposes it"]
    ]
