"""Is paging working? Each alert run's outcome per receiver, and the alerts they raise.

A receiver that failed every in-run retry in two consecutive runs that had notifications for it
(a channel whose connection is missing, a revoked webhook, an SMTP server that refuses) raises a
`delivery_failure` alert for modelwatch itself (model id `__modelwatch__`, one per receiver),
sent to the other receivers and always to the log, with the failure's reason. It resolves at
the receiver's first success. Outcomes are stored per run hour (`mw_delivery_runs`) and the
episodes rebuilt from them every run, so a rerun of an hour raises no second alert.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

from modelwatch.alerting.delivery import DeliveryResult
from modelwatch.alerting.ledger import FAILED, Plan
from modelwatch.alerting.lifecycle import DELIVERY_FAILURE, MODELWATCH_ID, Episode

#: Consecutive failed runs of a receiver before it is worth an alert (one bad minute is not).
RUNS_TO_OPEN = 2
OUTCOME_COLUMNS = ["hour", "receiver", "ok", "detail"]
#: The receiver that never fails, and always hears about the others.
LOG = "log"


def outcomes(plan: Plan, result: DeliveryResult, hour: datetime) -> pd.DataFrame:
    """This run's outcome for each receiver it had notifications for: ok, or the reason of
    its last failed attempt."""
    rows = []
    ledger = result.ledger
    for receiver in sorted(plan.due):
        ok = receiver in result.sent
        detail = None
        if not ok and len(ledger):
            failed = ledger[(ledger["receiver"] == receiver) & (ledger["state"] == FAILED)]
            detail = str(failed["detail"].iloc[-1]) if len(failed) else "failed"
        rows.append({"hour": hour, "receiver": receiver, "ok": ok, "detail": detail})
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    frame["ok"] = frame["ok"].astype(bool)
    return frame


def every_receiver_failed(runs: pd.DataFrame) -> str | None:
    """Why this run delivered nothing at all (every receiver it tried failed), else None."""
    if not len(runs) or runs["ok"].any():
        return None
    return "; ".join(f"{r.receiver}: {r.detail}" for r in runs.itertuples(index=False))


def episodes(runs: pd.DataFrame) -> list[Episode]:
    """The `delivery_failure` episodes the stored outcomes make, per receiver: open at the
    `RUNS_TO_OPEN`th failed run in a row, resolved at the next run that succeeded."""
    out: list[Episode] = []
    ordered = runs.sort_values(["receiver", "hour"], kind="mergesort")
    for receiver, rows in ordered.groupby("receiver", sort=True):
        streak, current = 0, None
        for r in rows.itertuples(index=False):
            hour = pd.Timestamp(r.hour).to_pydatetime()
            if bool(r.ok):
                if current is not None:
                    current.resolved_hour = hour
                    out.append(current)
                streak, current = 0, None
                continue
            streak += 1
            detail = json.dumps({"receiver": receiver, "runs": streak, "reason": r.detail})
            if current is not None:
                current.last_signal_hour, current.detail = hour, detail
            elif streak >= RUNS_TO_OPEN:
                current = Episode(
                    MODELWATCH_ID, DELIVERY_FAILURE, hour, hour, None, None, detail, key=receiver
                )
        if current is not None:
            out.append(current)
    return out


def failing_receiver(detail: str) -> str:
    """The receiver a `delivery_failure` episode is about."""
    return str(json.loads(detail or "{}").get("receiver", ""))
