"""This hour's remediation requests, decided from frames: policies, then guardrails.

The remediate step's pure core: the outbox rows an hour asks for, from the hour's scores, the
outbox rows around it (cooldowns, caps, what a rerun must keep), the recent metrics the
policies need, and which alert each request answers. `outbox.py` loads and records them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from modelwatch.config import Settings
from modelwatch.remediation import guardrails
from modelwatch.remediation import states as rem
from modelwatch.remediation.policies import Recent, propose
from modelwatch.run import RunMode

#: The approval subject and body carry at most this many requests (the rest are counted).
MAX_BODY_ROWS = 50


def plan_requests(
    scores: pd.DataFrame,
    history: pd.DataFrame,
    recent: Recent,
    hour: datetime,
    mode: RunMode,
    settings: Settings,
    owned: Sequence[str],
    answers: Callable[[list[str]], dict[str, str]],
) -> pd.DataFrame:
    """The hour's outbox rows of the `owned` models: each proposal through the guardrails,
    with the alert it answers (`answers`: model -> active anomaly alert id, for the models
    given)."""
    cfg = settings.remediation
    proposals = propose(scores, cfg, recent)
    outbox = guardrails.decide(proposals, hour, history, mode, cfg, owned=owned)
    found = answers(outbox["model_id"].tolist())
    outbox["alert_id"] = [found.get(m) for m in outbox["model_id"]]
    return outbox


def requests_summary(outbox: pd.DataFrame, hour: datetime) -> dict[str, Any]:
    """The remediate step's result: counts by status, and what waits for an operator (the
    approval task shows the first `MAX_BODY_ROWS`; the answer covers every one it counts)."""
    approval = None
    waiting = outbox[outbox["status"] == rem.AWAITING_APPROVAL]
    if len(waiting):
        approval = rem.approval_request(waiting.head(MAX_BODY_ROWS), hour)
        approval["request_ids"] = waiting["request_id"].tolist()
    return {
        "requests": len(outbox),
        "statuses": {str(k): int(v) for k, v in outbox["status"].value_counts().items()},
        "approval": approval,
    }
