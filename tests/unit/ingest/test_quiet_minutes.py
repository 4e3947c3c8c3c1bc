"""Quiet minutes: a minute without traffic has no latency or error rate, and that is valid data;
null latency while requests were served still quarantines the model-hour."""

from __future__ import annotations

import json

import numpy as np

from modelwatch.detection.features import clean_training_rows
from modelwatch.ingest.validate import validate_hour
from tests.unit.ingest.test_validate import CFG, HOUR, make_hour

QUIET = ["latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "error_rate"]


def test_quiet_minutes_pass_the_gate_and_count_towards_completeness() -> None:
    df = make_hour(["idle", "busy"])
    idle = np.flatnonzero(df["model_id"] == "idle")[::3]  # a third of its minutes: no request
    df.loc[idle, "request_rate"] = 0.0
    df.loc[idle, QUIET] = np.nan
    report = validate_hour(df, HOUR, ["idle", "busy"], CFG)
    v = report.verdicts.set_index("model_id")
    assert v.loc["idle", "status"] == "passed"
    assert v.loc["idle", "completeness"] == 1.0
    assert len(report.clean[report.clean["model_id"] == "idle"]) == 60


def test_null_latency_while_serving_still_quarantines() -> None:
    df = make_hour(["idle", "broken"])
    idle = np.flatnonzero(df["model_id"] == "idle")[:10]
    df.loc[idle, "request_rate"] = 0.0
    df.loc[idle, QUIET] = np.nan
    broken = np.flatnonzero(df["model_id"] == "broken")[:10]  # traffic, but no latency
    df.loc[broken, "latency_p99_ms"] = np.nan
    report = validate_hour(df, HOUR, ["idle", "broken"], CFG)
    v = report.verdicts.set_index("model_id")
    assert v.loc["idle", "status"] == "passed"
    assert v.loc["broken", "status"] == "quarantined"
    checks = {c["check"] for c in json.loads(v.loc["broken", "failed_checks"])}
    assert "latency_p99_ms not null" in checks


def test_a_null_request_rate_is_not_a_quiet_minute() -> None:
    df = make_hour(["m"])
    df.loc[:9, "request_rate"] = np.nan
    df.loc[:9, QUIET] = np.nan
    v = validate_hour(df, HOUR, ["m"], CFG).verdicts.set_index("model_id")
    assert v.loc["m", "status"] == "quarantined"


def test_quiet_minutes_train_the_detector() -> None:
    df = make_hour(["m"])
    df.loc[:9, "request_rate"] = 0.0
    df.loc[:9, QUIET] = np.nan
    df.loc[10, "latency_p50_ms"] = np.nan  # served requests: bad
    kept, dropped = clean_training_rows(df)
    assert len(kept) == 59 and dropped == 1
