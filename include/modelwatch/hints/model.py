"""A hint, the alert it explains, and how hints are ranked and stored."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

DEPLOY, CHANGE, LOG_SIGNATURE = "deploy", "change", "log_signature"
SHARED_CAUSE, DRIFT, SELF_ACTION = "shared_cause", "drift", "self_action"
KINDS = (DEPLOY, CHANGE, LOG_SIGNATURE, SHARED_CAUSE, DRIFT, SELF_ACTION)
HINT_COLUMNS = ["alert_id", "hour", "model_id", "rank", "kind", "summary", "evidence", "score"]
#: Shown in every message.
TOP_IN_MESSAGES = 3


@dataclass(frozen=True)
class AlertRef:
    """What hints need of an alert (the alerting stage builds it from an episode)."""

    alert_id: str
    model_id: str
    kind: str
    opened_hour: datetime
    began: datetime  # the first hour of the trouble that opened it
    top_metrics: tuple[str, ...] = ()
    fleet_models: tuple[str, ...] = ()  # a fleet incident's anomalous models


@dataclass
class Hint:
    kind: str
    summary: str
    score: float
    evidence: dict[str, Any] = field(default_factory=dict)


def ranked(hints: list[Hint], keep: int) -> list[Hint]:
    """Best first; ties broken by kind and text, so a rebuild gives the same order."""
    return sorted(hints, key=lambda h: (-round(h.score, 6), h.kind, h.summary))[:keep]


def rows(alert: AlertRef, hour: datetime, hints: list[Hint]) -> list[dict[str, Any]]:
    return [
        {
            "alert_id": alert.alert_id,
            "hour": hour,
            "model_id": alert.model_id,
            "rank": i + 1,
            "kind": h.kind,
            "summary": h.summary,
            "evidence": json.dumps(h.evidence, sort_keys=True, default=str),
            "score": round(float(h.score), 6),
        }
        for i, h in enumerate(hints)
    ]


def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(records, columns=HINT_COLUMNS)
    out["hour"] = pd.to_datetime(out["hour"]).astype("datetime64[us]")
    out["rank"] = out["rank"].astype("int64")
    return out


def hhmm(ts: Any) -> str:
    t = pd.Timestamp(ts)
    return f"{t:%H:%M}" if not pd.isna(t) else "?"
