"""The multi-hour policies on hand-made data: scale down after recovery, rollback after a
deploy, restart on a memory ramp, and per-model settings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from modelwatch.config import ConfigError, RemediationConfig, load_settings
from modelwatch.detection.score import SCORE_COLUMNS
from modelwatch.remediation.policies import (
    RESTART,
    ROLLBACK,
    SCALE_DOWN,
    SCALE_UP,
    Recent,
    propose,
    propose_restart,
    propose_rollback,
    propose_scale_down,
    version_change,
)
from modelwatch.remediation.states import REQUEST_COLUMNS

HOUR = datetime(2026, 11, 1, 18)
CFG = RemediationConfig()


def explanation(**metrics: tuple[float, float, float]) -> str:
    return json.dumps(
        [
            {"metric": m, "observed": o, "baseline": b, "robust_z": z}
            for m, (o, b, z) in metrics.items()
        ]
    )


def score(
    hour: datetime, model: str = "m1", anomaly: bool = False, status: str = "scored", **ex: Any
) -> dict[str, Any]:
    ex = {"cpu_util": (0.3, 0.4, -1.0), "replicas": (8.0, 8.0, 0.0)} | ex
    return {
        "hour": hour,
        "model_id": model,
        "status": status,
        "score": 0.99 if anomaly else 0.5,
        "threshold": 0.95,
        "is_anomaly": anomaly,
        "n_rows": 60,
        "n_train_rows": 1000,
        "top_metrics": "",
        "explanation": explanation(**ex),
    }


def frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=columns)
    out["hour"] = pd.to_datetime(out["hour"]).astype("datetime64[us]")
    return out


def scale_up_row(hours_ago: int, frm: int = 5, to: int = 8, status: str = "dispatched"):
    h = HOUR - timedelta(hours=hours_ago)
    return {
        "request_id": f"m1:{h:%Y%m%dT%H}:scale_up",
        "model_id": "m1",
        "hour": h,
        "action": SCALE_UP,
        "from_replicas": frm,
        "to_replicas": to,
        "mode": "live",
        "status": status,
        "status_reason": "",
        "reason": "",
        "evidence": "{}",
    }


def recent(scores: list[dict[str, Any]], requests: list[dict[str, Any]], metrics=None) -> Recent:
    return Recent(
        metrics=metrics if metrics is not None else pd.DataFrame(),
        scores=frame(scores, SCORE_COLUMNS),
        requests=frame(requests, REQUEST_COLUMNS),
    )


def last_row(r: Recent) -> Any:
    return next(r.scores[r.scores["hour"] == HOUR].itertuples(index=False))


# ------------------------------------------------------------------------------------ scale down
def calm_hours(n: int = 3, cpu: float = 0.3) -> list[dict[str, Any]]:
    return [score(HOUR - timedelta(hours=k), cpu_util=(cpu, 0.4, -1.0)) for k in range(n)]


def test_scale_down_steps_down_after_a_stabilisation_window() -> None:
    r = recent(calm_hours(), [scale_up_row(6)])
    p = propose_scale_down(last_row(r), CFG, r)
    assert p is not None
    # 8 replicas at 30 % CPU want ceil(8 * 0.3 / 0.6) = 4; one step at a time, floor 5
    assert (p.action, p.from_replicas, p.to_replicas) == (SCALE_DOWN, 8, 7)
    assert p.evidence == {"recommendations": [4, 4, 4], "floor": 5, "stabilisation_hours": 3}


def test_scale_down_never_goes_below_the_replicas_before_the_scale_up() -> None:
    bigger_step = CFG.model_copy(
        update={"scale_down": CFG.scale_down.model_copy(update={"step": 5})}
    )
    r = recent(calm_hours(), [scale_up_row(6, frm=6)])
    p = propose_scale_down(last_row(r), bigger_step, r)
    assert p is not None and p.to_replicas == 6


@pytest.mark.parametrize(
    "case",
    ["no scale-up", "anomalous hour", "quarantined hour", "missing hour", "busy hour", "old"],
)
def test_no_scale_down_without_a_clean_recovery(case: str) -> None:
    hours = calm_hours()
    ups = [scale_up_row(6)]
    if case == "no scale-up":
        ups = []
    elif case == "anomalous hour":
        hours[1] = score(HOUR - timedelta(hours=1), anomaly=True)
    elif case == "quarantined hour":
        hours[2] = score(HOUR - timedelta(hours=2), status="quarantined")
    elif case == "missing hour":
        hours.pop(1)
    elif case == "busy hour":  # one hour still needed all 8 replicas: the window holds it
        hours[2] = score(HOUR - timedelta(hours=2), cpu_util=(0.6, 0.4, 2.0))
    elif case == "old":
        ups = [scale_up_row(CFG.scale_down.lookback_hours + 1)]
    r = recent(hours, ups)
    assert propose_scale_down(last_row(r), CFG, r) is None


def test_scale_down_only_for_models_that_are_not_anomalous_now() -> None:
    r = recent(calm_hours(), [scale_up_row(6)])
    scores = r.scores[r.scores["hour"] == HOUR]
    assert [p.action for p in propose(scores, CFG, r)] == [SCALE_DOWN]
    hot = scores.assign(is_anomaly=True)
    assert [p.action for p in propose(hot, CFG, r)] == []


# -------------------------------------------------------------------------------------- rollback
def metrics(model: str, versions: list[tuple[int, str]], memory: list[float] | None = None):
    """Minute rows from (minutes before HOUR + 1 h, version) steps."""
    end = HOUR + timedelta(hours=1)
    rows = []
    for start_min, version in versions:
        rows.append({"model_id": model, "ts": end - timedelta(minutes=start_min), "v": version})
    out = pd.DataFrame(rows).rename(columns={"v": "model_version"})
    return out.sort_values("ts").reset_index(drop=True)


def burst(model: str = "m1") -> Any:
    row = score(
        HOUR,
        model,
        anomaly=True,
        error_rate=(0.08, 0.001, 200.0),
        latency_p50_ms=(30.0, 30.0, 0.0),
        latency_p99_ms=(90.0, 90.0, 0.0),
        request_rate=(100.0, 100.0, 0.0),
    )
    return next(frame([row], SCORE_COLUMNS).itertuples(index=False))


def test_an_error_burst_right_after_a_deploy_asks_for_a_rollback() -> None:
    m = metrics("m1", [(180, "v6"), (50, "v7"), (1, "v7")])
    p = propose_rollback(burst(), CFG, Recent(m, pd.DataFrame(), pd.DataFrame()))
    assert p is not None and p.action == ROLLBACK
    assert (p.evidence["from_version"], p.evidence["to_version"]) == ("v7", "v6")
    assert p.reason.startswith("error burst: error rate 8.0% (z +200.0) since version v7")


@pytest.mark.parametrize(
    "versions",
    [
        [(300, "v6"), (1, "v6")],  # no deploy
        [(300, "v6"), (200, "v7"), (1, "v7")],  # the deploy was 200 min before the hour's end
        [(180, "v6"), (50, "v7"), (10, "v6")],  # already rolled back: never back to v7
        [(180, "v7"), (100, "v6"), (50, "v7")],  # v7 again: a step back, not a new deploy
    ],
)
def test_no_rollback_without_a_recent_deploy_still_live(versions) -> None:
    m = metrics("m1", versions)
    assert propose_rollback(burst(), CFG, Recent(m, pd.DataFrame(), pd.DataFrame())) is None


def test_version_change_ignores_missing_versions_and_other_models() -> None:
    m = metrics("m1", [(180, "v6"), (50, "v7")])
    m = pd.concat([m, metrics("m2", [(30, "v1"), (20, "v2")])], ignore_index=True)
    m.loc[len(m)] = {"model_id": "m1", "ts": HOUR + timedelta(minutes=59), "model_version": None}
    change = version_change(m, "m1", HOUR + timedelta(hours=1))
    assert change is not None
    assert (change["from_version"], change["to_version"], change["current_version"]) == (
        "v6",
        "v7",
        "v7",
    )
    assert version_change(m.drop(columns="model_version"), "m1", HOUR) is None


# --------------------------------------------------------------------------------------- restart
def ramp(values: list[float], model: str = "m1") -> pd.DataFrame:
    start = HOUR - timedelta(hours=len(values) - 1)
    rows = [
        {"model_id": model, "ts": start + timedelta(hours=i, minutes=m), "memory_util": v}
        for i, v in enumerate(values)
        for m in (0, 30)
    ]
    return pd.DataFrame(rows)


def leak_row() -> Any:
    row = score(HOUR, anomaly=True, memory_util=(0.8, 0.55, 20.0))
    return next(frame([row], SCORE_COLUMNS).itertuples(index=False))


def test_a_memory_ramp_asks_for_a_restart() -> None:
    p = propose_restart(leak_row(), CFG, Recent(ramp([0.6, 0.66, 0.72, 0.8]), None, None))
    assert p is not None and p.action == RESTART
    assert p.evidence == {"hourly_memory": [0.6, 0.66, 0.72, 0.8], "rise": 0.2}


@pytest.mark.parametrize(
    "values",
    [
        [0.6, 0.7, 0.69, 0.8],  # not rising every hour
        [0.77, 0.78, 0.79, 0.8],  # rising too little
        [0.5, 0.55, 0.6, 0.7],  # not high yet
        [0.7, 0.8],  # too few hours
    ],
)
def test_no_restart_without_a_sustained_high_ramp(values: list[float]) -> None:
    assert propose_restart(leak_row(), CFG, Recent(ramp(values), None, None)) is None


def test_a_gap_in_the_ramp_is_no_evidence() -> None:
    m = ramp([0.6, 0.66, 0.72, 0.8])
    m = m[m["ts"].dt.floor("h") != HOUR - timedelta(hours=2)]
    assert propose_restart(leak_row(), CFG, Recent(m, None, None)) is None


# ---------------------------------------------------------------------------------------- config
def test_per_model_overrides_merge_deeply_and_are_validated(tmp_path) -> None:
    cfg = RemediationConfig(models={"big": {"max_replicas": 80, "scale_up": {"tolerance": 0.2}}})
    big = cfg.for_model("big")
    assert (big.max_replicas, big.scale_up.tolerance) == (80, 0.2)
    assert big.scale_up.target_utilisation == CFG.scale_up.target_utilisation
    assert cfg.for_model("other") is cfg
    bad = tmp_path / "c.yaml"
    bad.write_text("remediation:\n  models:\n    big: {max_replica: 3}\n")
    with pytest.raises(ConfigError, match=r"remediation.models.big is invalid"):
        load_settings(bad)
    bad.write_text("remediation:\n  cooldowns: {scale_sideways: 3}\n")
    with pytest.raises(ConfigError, match="unknown action 'scale_sideways'"):
        load_settings(bad)
    bad.write_text("remediation:\n  targets: {rollback: pager}\n")
    with pytest.raises(ConfigError, match="unknown target 'pager'"):
        load_settings(bad)
