"""Remediation: the HPA-style policy, and the guardrails that decide whether it may act."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pandas as pd
import pytest

from modelwatch.config import RemediationConfig, ScaleUpPolicy
from modelwatch.detect import SCORE_COLUMNS
from modelwatch.remediation import (
    DISPATCHED,
    FAILED,
    PROPOSED,
    REQUEST_COLUMNS,
    SCALE_UP,
    SKIPPED,
    LogTarget,
    Proposal,
    decide,
    desired_replicas,
    propose,
    propose_scale_up,
)
from modelwatch.window import RunMode

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
    """Our own `Target` protocol, recorded: what `decide` asked it to apply."""

    name = "fake"

    def __init__(self, ok: bool = True, detail: str = "ok") -> None:
        self.ok, self.detail = ok, detail
        self.applied: list[dict[str, Any]] = []

    def apply(self, request: dict[str, Any]) -> tuple[bool, str]:
        self.applied.append(dict(request))
        return self.ok, self.detail


def proposal(model: str = "m1", score: float = 0.99, frm: int = 4, to: int = 6) -> Proposal:
    return Proposal(model, SCALE_UP, frm, to, f"{model} is saturated", score, {"utilisation": 0.9})


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


def test_dry_run_records_a_proposal_and_dispatches_nothing() -> None:
    target = FakeTarget()
    frame = decide([proposal()], HOUR, NO_HISTORY, DRY, CFG, target)
    assert target.applied == []
    assert list(frame.columns) == REQUEST_COLUMNS
    assert frame["hour"].dtype == "datetime64[us]"
    row = frame.iloc[0]
    assert row["request_id"] == "m1:20261101T09:scale_up"
    assert (row["status"], row["mode"]) == (PROPOSED, "dry_run")
    assert "dry run" in row["status_reason"]
    assert (row["from_replicas"], row["to_replicas"]) == (4, 6)
    assert row["hour"] == pd.Timestamp(HOUR)
    assert json.loads(row["evidence"]) == {"utilisation": 0.9}
    assert row["reason"] == "m1 is saturated"


def test_backfill_records_a_proposal_whatever_dry_run_says() -> None:
    target = FakeTarget()
    for mode in (BACKFILL, RunMode("backfill", notify=True, dry_run=False)):
        frame = decide([proposal()], HOUR, NO_HISTORY, mode, CFG, target)
        assert (frame["status"].iloc[0], frame["mode"].iloc[0]) == (PROPOSED, "backfill")
        assert frame["status_reason"].iloc[0].startswith("backfill")
    assert target.applied == []


def test_live_dispatches_once_through_the_target() -> None:
    target = FakeTarget(detail="scaled")
    frame = decide([proposal()], HOUR, NO_HISTORY, LIVE, CFG, target)
    assert len(target.applied) == 1
    request = target.applied[0]
    assert request["request_id"] == "m1:20261101T09:scale_up"
    assert (request["from_replicas"], request["to_replicas"], request["mode"]) == (4, 6, "live")
    assert list(frame["status"]) == [DISPATCHED]
    assert list(frame["mode"]) == ["live"]
    assert list(frame["status_reason"]) == ["fake: scaled"]


def test_live_failure_is_recorded() -> None:
    frame = decide([proposal()], HOUR, NO_HISTORY, LIVE, CFG, FakeTarget(False, "403 forbidden"))
    assert list(frame["status"]) == [FAILED]
    assert "403 forbidden" in frame["status_reason"].iloc[0]


def test_default_target_logs(caplog: pytest.LogCaptureFixture) -> None:
    assert LogTarget().name == "log"
    with caplog.at_level("WARNING", logger="modelwatch.remediation"):
        frame = decide([proposal()], HOUR, NO_HISTORY, LIVE, CFG)
    assert list(frame["status"]) == [DISPATCHED]
    assert any("m1:20261101T09:scale_up" in r.getMessage() for r in caplog.records)


def test_no_proposals_no_rows() -> None:
    frame = decide([], HOUR, NO_HISTORY, LIVE, CFG, FakeTarget())
    assert frame.empty
    assert list(frame.columns) == REQUEST_COLUMNS


# -------------------------------------------------------------------------------------- cooldown
@pytest.mark.parametrize("hours_ago", [1, 2])
@pytest.mark.parametrize("status", [DISPATCHED, PROPOSED, "applied", "approved"])
def test_cooldown_skips_a_recent_action_on_the_same_model(hours_ago: int, status: str) -> None:
    target = FakeTarget()
    past = history(history_row("m1", hours_ago=hours_ago, status=status))
    frame = decide([proposal("m1")], HOUR, past, LIVE, CFG, target)
    assert target.applied == []
    ((state, why),) = by_model(frame).values()
    assert state == SKIPPED
    assert why.startswith("cooldown")
    earlier = HOUR - timedelta(hours=hours_ago)
    assert f"{earlier:%Y-%m-%d %H:%M}" in why


def test_cooldown_ends_after_cooldown_hours() -> None:
    target = FakeTarget()
    past = history(history_row("m1", hours_ago=CFG.cooldown_hours + 1))
    frame = decide([proposal("m1")], HOUR, past, LIVE, CFG, target)
    assert list(frame["status"]) == [DISPATCHED]
    assert len(target.applied) == 1


def test_cooldown_blocks_exactly_cooldown_hours() -> None:
    """An action at 06 with a 3 h cooldown blocks 07 and 08; at 09 the next one may go."""
    at_boundary = history(history_row("m1", hours_ago=CFG.cooldown_hours))
    frame = decide([proposal("m1")], HOUR, at_boundary, LIVE, CFG, FakeTarget())
    assert list(frame["status"]) == [DISPATCHED]
    inside = history(history_row("m1", hours_ago=CFG.cooldown_hours - 1))
    frame = decide([proposal("m1")], HOUR, inside, LIVE, CFG, FakeTarget())
    assert list(frame["status"]) == [SKIPPED]


class RaisingTarget(FakeTarget):
    def apply(self, request: dict[str, Any]) -> tuple[bool, str]:
        super().apply(request)
        raise ConnectionError("scale API unreachable")


def test_a_raising_target_fails_its_request_not_the_run() -> None:
    target = RaisingTarget()
    frame = decide([proposal("m1"), proposal("m2", score=0.5)], HOUR, NO_HISTORY, LIVE, CFG, target)
    assert list(frame["status"]) == [FAILED, FAILED]
    assert frame["status_reason"].str.contains("scale API unreachable").all()
    assert len(target.applied) == 2  # the second request was still attempted


def test_cooldown_follows_the_config() -> None:
    past = history(history_row("m1", hours_ago=5))
    frame = decide([proposal("m1")], HOUR, past, LIVE, cfg(cooldown_hours=6), FakeTarget())
    assert list(frame["status"]) == [SKIPPED]
    frame = decide([proposal("m1")], HOUR, past, LIVE, cfg(cooldown_hours=0), FakeTarget())
    assert list(frame["status"]) == [DISPATCHED]


@pytest.mark.parametrize(
    "row",
    [
        history_row("m2", hours_ago=1),  # another model
        history_row("m1", hours_ago=1, action="restart"),  # another action
        history_row("m1", hours_ago=1, status=FAILED),  # not an action taken
        history_row("m1", hours_ago=1, status=SKIPPED),
    ],
)
def test_cooldown_is_per_model_action_and_active_status(row: dict[str, Any]) -> None:
    frame = decide([proposal("m1")], HOUR, history(row), LIVE, CFG, FakeTarget())
    assert by_model(frame)["m1"][0] == DISPATCHED


def test_cooldown_applies_in_dry_run_too() -> None:
    frame = decide([proposal("m1")], HOUR, history(history_row("m1")), DRY, CFG, FakeTarget())
    assert list(frame["status"]) == [SKIPPED]


# -------------------------------------------------------------------------------------- fleet cap
def test_fleet_cap_keeps_the_highest_scores() -> None:
    target = FakeTarget()
    proposals = [
        proposal("a", 0.96),
        proposal("b", 0.999),
        proposal("c", 0.97),
        proposal("d", 0.995),
    ]
    frame = decide(proposals, HOUR, NO_HISTORY, LIVE, cfg(max_actions_per_hour=2), target)
    assert [r["model_id"] for r in target.applied] == ["b", "d"]
    states = by_model(frame)
    assert {m: s for m, (s, _) in states.items()} == {
        "b": DISPATCHED,
        "d": DISPATCHED,
        "c": SKIPPED,
        "a": SKIPPED,
    }
    assert "fleet cap" in states["a"][1]
    assert list(frame["model_id"]) == ["b", "d", "c", "a"]


def test_fleet_cap_zero_blocks_everything() -> None:
    target = FakeTarget()
    frame = decide(
        [proposal("a"), proposal("b")], HOUR, NO_HISTORY, LIVE, cfg(max_actions_per_hour=0), target
    )
    assert target.applied == []
    assert set(frame["status"]) == {SKIPPED}


def test_fleet_cap_counts_dry_run_proposals() -> None:
    frame = decide(
        [proposal("a", 0.99), proposal("b", 0.98)],
        HOUR,
        NO_HISTORY,
        DRY,
        cfg(max_actions_per_hour=1),
        None,
    )
    assert {m: s for m, (s, _) in by_model(frame).items()} == {"a": PROPOSED, "b": SKIPPED}


def test_skipped_by_cooldown_does_not_use_the_cap() -> None:
    proposals = [proposal("cool", 0.999), proposal("next", 0.98)]
    past = history(history_row("cool"))
    frame = decide(proposals, HOUR, past, LIVE, cfg(max_actions_per_hour=1), FakeTarget())
    assert {m: s for m, (s, _) in by_model(frame).items()} == {"cool": SKIPPED, "next": DISPATCHED}


# ----------------------------------------------------------------------------------------- reruns
def test_rerun_keeps_a_dispatched_request_and_does_not_act_again() -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, LIVE, CFG, FakeTarget())
    target = FakeTarget()
    again = decide([proposal("m1")], HOUR, first, LIVE, CFG, target)
    assert target.applied == []
    pd.testing.assert_frame_equal(again, first)


def test_rerun_keeps_a_dispatched_request_no_longer_proposed() -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, LIVE, CFG, FakeTarget())
    target = FakeTarget()
    again = decide([], HOUR, first, LIVE, CFG, target)
    assert target.applied == []
    pd.testing.assert_frame_equal(again, first)


def test_own_dispatched_row_is_not_a_cooldown_for_itself() -> None:
    # This hour's own row must be kept as dispatched, never re-labelled as "cooldown".
    first = decide([proposal("m1")], HOUR, NO_HISTORY, LIVE, CFG, FakeTarget())
    again = decide([proposal("m1")], HOUR, first, DRY, CFG, FakeTarget())
    assert list(again["status"]) == [DISPATCHED]


def test_rerun_counts_kept_dispatches_against_the_cap() -> None:
    first = decide([proposal("a", 0.99)], HOUR, NO_HISTORY, LIVE, CFG, FakeTarget())
    target = FakeTarget()
    again = decide(
        [proposal("a", 0.99), proposal("b", 0.98)],
        HOUR,
        first,
        LIVE,
        cfg(max_actions_per_hour=1),
        target,
    )
    assert target.applied == []
    assert {m: s for m, (s, _) in by_model(again).items()} == {"a": DISPATCHED, "b": SKIPPED}


def test_rerun_retries_a_failed_request() -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, LIVE, CFG, FakeTarget(False, "timeout"))
    target = FakeTarget()
    again = decide([proposal("m1")], HOUR, first, LIVE, CFG, target)
    assert len(target.applied) == 1
    assert list(again["status"]) == [DISPATCHED]
    assert len(again) == 1


def test_a_dry_rerun_replaces_an_earlier_dry_proposal() -> None:
    first = decide([proposal("m1")], HOUR, NO_HISTORY, DRY, CFG, FakeTarget())
    again = decide([proposal("m1")], HOUR, first, DRY, CFG, FakeTarget())
    pd.testing.assert_frame_equal(again, first)
