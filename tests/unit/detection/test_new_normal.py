"""New normal: when a model's baseline moves, decided from the stored hours before the hour."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd

from modelwatch.config import FleetLifeConfig
from modelwatch.detection.baselines import Baseline, decide, level_held, streak_start
from modelwatch.detection.features import warmup_widen

T0 = datetime(2026, 10, 30, 8)
H = timedelta(hours=1)
CFG = FleetLifeConfig()


def scores(zs: list[float | None], metric: str = "latency_p99_ms") -> pd.DataFrame:
    """One row per hour from T0: z None = a healthy scored hour."""
    rows = []
    for i, z in enumerate(zs):
        detail = [] if z is None else [{"metric": metric, "robust_z": z}]
        rows.append(
            {
                "model_id": "m",
                "hour": T0 + i * H,
                "status": "scored",
                "is_anomaly": z is not None,
                "explanation": json.dumps(detail),
            }
        )
    return pd.DataFrame(rows)


def test_a_level_that_held_the_persistence_moves_the_baseline_to_its_onset() -> None:
    frame = scores([None, None, 8.0, 8.5, 7.9, 8.2, 8.1, 8.3])
    onset = T0 + 2 * H
    assert decide(frame, {}, onset + 5 * H, CFG) == []  # 5 h: not yet
    moved = decide(frame, {}, onset + 6 * H, CFG)
    assert [(b.model_id, b.since, b.decided_hour) for b in moved] == [("m", onset, onset + 6 * H)]


def test_a_ramp_never_held_and_keeps_paging() -> None:
    frame = scores([None, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0])
    assert decide(frame, {}, T0 + 8 * H, CFG) == []


def test_a_deploy_at_the_onset_shortens_the_persistence() -> None:
    frame = scores([None, 8.0, 8.2, 7.9, 8.1, 8.0])
    onset = T0 + H
    deploy = {"m": [onset + timedelta(minutes=5)]}
    assert decide(frame, {}, onset + 4 * H, CFG) == []
    assert [b.since for b in decide(frame, deploy, onset + 4 * H, CFG)] == [onset]
    far = {"m": [onset - 5 * H]}  # a deploy long before the change is no reason to hurry
    assert decide(frame, far, onset + 4 * H, CFG) == []


def test_the_decision_reads_only_hours_before_it() -> None:
    frame = scores([None, 8.0, 8.2, 7.9, 8.1, 8.0, 8.1, None, None])
    # at T0+7h the run T0+1h..T0+6h is 6 h long: the healthy hours after it are not read
    assert [b.since for b in decide(frame, {}, T0 + 7 * H, CFG)] == [T0 + H]
    assert streak_start(frame, T0 + 8 * H, None) is None  # the hour before was healthy


def test_a_second_move_needs_a_new_run_after_the_first() -> None:
    frame = scores([None, 8.0, 8.2, 7.9, 8.1, 8.0, 8.1, 8.0])
    prior = {"m": Baseline("m", T0 + 7 * H, T0 + H)}
    assert decide(frame, {}, T0 + 8 * H, CFG, prior) == []


def test_level_held_wants_one_side() -> None:
    frame = scores([8.0, -8.0, 8.0, -8.0])
    assert not level_held(frame, T0, T0 + 4 * H, CFG.max_level_drift)


def test_the_warm_up_band_narrows_to_one() -> None:
    assert warmup_widen(6, 24) == 2.0
    assert warmup_widen(12, 24) < warmup_widen(6, 24)
    assert warmup_widen(24, 24) == warmup_widen(100, 24) == 1.0


def test_a_level_whose_score_hovers_round_the_threshold_is_one_change() -> None:
    frame = scores([None, 8.0, 8.2, 7.9, 8.1, 8.0, 8.1, 8.0])
    frame.loc[4, "is_anomaly"] = False  # scored under the threshold, z still 8: same level
    assert [b.since for b in decide(frame, {}, T0 + 8 * H, CFG)] == [T0 + H]
    frame.loc[4, "explanation"] = "[]"  # back to normal for an hour: a new run after it
    assert decide(frame, {}, T0 + 8 * H, CFG) == []


def test_a_single_anomalous_hour_never_moves_a_baseline() -> None:
    frame = scores([None, 8.0, None, None, None, None, None, None])
    frame.loc[2:, "explanation"] = frame.loc[1, "explanation"]  # still "moved", not anomalous
    assert decide(frame, {}, T0 + 8 * H, CFG) == []
