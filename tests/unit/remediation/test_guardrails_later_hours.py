"""Guardrails on a rerun of an earlier hour: requests of later hours hold it back like earlier
ones (cooldown, in flight), so a rerun never acts beside what a later hour already did."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.config import RemediationConfig
from modelwatch.remediation.guardrails import decide
from modelwatch.remediation.policies import RESTART, SCALE_UP, Proposal
from modelwatch.remediation.states import APPROVED, DISPATCHED, REQUEST_COLUMNS, SKIPPED
from modelwatch.run import RunMode

HOUR = datetime(2026, 11, 1, 9)
LIVE = RunMode("manual", notify=False, dry_run=False)
CFG = RemediationConfig(dry_run=False)


def row(action: str, hours_later: int, status: str = DISPATCHED, to: int | None = 6) -> dict:
    hour = HOUR + timedelta(hours=hours_later)
    return {
        "request_id": f"m1:{hour:%Y%m%dT%H}:{action}",
        "model_id": "m1",
        "hour": hour,
        "action": action,
        "from_replicas": None if to is None else 4,
        "to_replicas": to,
        "mode": "live",
        "status": status,
        "status_reason": "sent",
        "reason": "later",
        "evidence": "{}",
        "attempts": 1,
    }


def history(*rows: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=REQUEST_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    return frame


def test_a_restart_two_hours_later_cools_a_rerun_of_this_hour() -> None:
    restart = Proposal("m1", RESTART, None, None, "memory leak", 0.99)
    out = decide([restart], HOUR, history(row(RESTART, 2, to=None)), LIVE, CFG)
    assert out[["status", "status_reason"]].values.tolist() == [
        [SKIPPED, "cooldown: restart at 2026-11-01 11:00 (dispatched), 6 h"]
    ]


def test_a_later_request_beyond_the_cooldown_does_not_cool() -> None:
    restart = Proposal("m1", RESTART, None, None, "memory leak", 0.99)
    out = decide([restart], HOUR, history(row(RESTART, 6, to=None)), LIVE, CFG)
    assert out["status"].tolist() == [APPROVED]


def test_a_later_scale_up_is_in_flight_for_a_rerun_whatever_its_target() -> None:
    # past the 3 h scale_up cooldown, inside the 6 h in-flight window; this hour's observation
    # (8 replicas, more than the later request's 6) is out of date
    up = Proposal("m1", SCALE_UP, 8, 10, "saturated", 0.99)
    out = decide([up], HOUR, history(row(SCALE_UP, 4)), LIVE, CFG)
    assert out["status"].tolist() == [SKIPPED]
    assert out["status_reason"][0] == (
        "in flight: scale_up at 2026-11-01 13:00 (dispatched) was requested after this hour, "
        "whose observed 8 replicas are out of date"
    )
