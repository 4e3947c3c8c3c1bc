"""The notification ledger's rows: ids and idempotency keys, states, and the plan of a run.

`mw_notifications` holds one row per notification (alert event x receiver). Its state says
what is known: `sent` (confirmed, never sent again), `failed` and `sending` (owed: retried by
later runs; `sending` was written before a send whose outcome was never recorded),
`suppressed` (held back, with why). See `modelwatch.alerting.delivery` for the guarantee.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from modelwatch.alerting.lifecycle import AlertEvent

#: A run may try a notification this many times in all, unless the config says fewer.
UNLIMITED_ATTEMPTS = 1_000_000


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


SENT, FAILED, SUPPRESSED = "sent", "failed", "suppressed"
#: Written before a send, confirmed after it: a row left in it was maybe delivered, and is owed.
SENDING = "sending"
#: The states of notifications later runs still try to deliver.
OWED = (FAILED, SENDING)

NOTIFICATION_COLUMNS = [
    "notification_id",
    "alert_id",
    "model_id",
    "event",
    "hour",
    "receiver",
    "state",
    "attempts",
    "detail",
    "severity",
    "last_attempt_at",
]

ATTEMPT_COLUMNS = [
    "attempt_id",
    "notification_id",
    "alert_id",
    "receiver",
    "attempt",
    "attempted_at",
    "ok",
    "detail",
]


def notification_id(event: AlertEvent, receiver: str) -> str:
    return f"{event.alert_id}:{event.event}:{event.hour:%Y%m%dT%H}:{receiver}"


def idempotency_key(event: AlertEvent, receiver: str) -> str:
    """The stable key of one notification (see `key_of`)."""
    return key_of(notification_id(event, receiver))


def key_of(nid: str) -> str:
    """The idempotency key of a notification id: the same on every retry and rerun, ASCII and
    short enough for a header, and free of model ids (a hash, not the id itself)."""
    return f"mw-{hashlib.sha256(nid.encode()).hexdigest()[:32]}"


def batch_key(keys: Iterable[str]) -> str:
    """The key of a batch: the same for a resend of the same events (per-alert keys are the
    unit to deduplicate on, since a retried event may be batched with new ones)."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    return f"mw-{digest[:32]}"


def event_key(e: AlertEvent) -> str:
    """An alert event independent of the receiver (the notification id minus the receiver)."""
    return f"{e.alert_id}:{e.event}:{e.hour:%Y%m%dT%H}"


def row(
    e: AlertEvent,
    nid: str,
    receiver: str,
    state: str,
    attempts: int,
    detail: str,
    last_attempt_at: datetime | None = None,
) -> dict[str, object]:
    return {
        "notification_id": nid,
        "alert_id": e.alert_id,
        "model_id": e.model_id,
        "event": e.event,
        "hour": e.hour,
        "receiver": receiver,
        "state": state,
        "attempts": attempts,
        "detail": detail,
        "severity": e.severity,
        "last_attempt_at": last_attempt_at,
    }


def ledger_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=NOTIFICATION_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    frame["last_attempt_at"] = pd.to_datetime(frame["last_attempt_at"]).astype("datetime64[us]")
    frame["attempts"] = frame["attempts"].astype("int64")
    return frame


@dataclass
class Plan:
    """What a run will do: rows settled without sending (already sent, held, not notifying,
    out of attempts), and per receiver the notifications due now with their attempts so far."""

    rows: list[dict[str, object]]
    due: dict[str, list[tuple[AlertEvent, str, int]]]
    previous: dict[str, dict[str, object]]


def plan_delivery(
    events: Sequence[AlertEvent],
    receivers: Sequence[str],
    ledger: pd.DataFrame,
    notify: bool,
    suppressed_because: str,
    *,
    route: Callable[[AlertEvent], Sequence[str]] | None = None,
    held: Mapping[str, str] | None = None,
    max_attempts: int = UNLIMITED_ATTEMPTS,
) -> Plan:
    """Decide each notification against the ledger (see `deliver_all`), sending nothing."""
    held = held or {}
    previous = {r.notification_id: r._asdict() for r in ledger.itertuples(index=False)}
    order = list(receivers)
    targets: dict[str, list[AlertEvent]] = {r: [] for r in order}
    for e in events:
        for r in route(e) if route is not None else receivers:
            if r not in targets:
                targets[r] = []
                order.append(r)
            targets[r].append(e)
    rows: list[dict[str, object]] = []
    due: dict[str, list[tuple[AlertEvent, str, int]]] = {}
    for receiver in order:
        for e in targets[receiver]:
            nid = notification_id(e, receiver)
            prev = previous.get(nid)
            prev_attempts = 0 if prev is None else int(prev["attempts"])  # type: ignore[call-overload]
            reason = held.get(event_key(e))
            if prev is not None and prev["state"] == SENT:
                rows.append({c: prev.get(c) for c in NOTIFICATION_COLUMNS})
            elif reason is not None:
                rows.append(row(e, nid, receiver, SUPPRESSED, prev_attempts, reason))
            elif not notify:
                if prev is not None and prev["state"] in OWED:  # still owed; not ours to drop
                    rows.append({c: prev.get(c) for c in NOTIFICATION_COLUMNS})
                else:
                    rows.append(row(e, nid, receiver, SUPPRESSED, 0, suppressed_because))
            elif prev is not None and prev_attempts >= max_attempts:
                rows.append({c: prev.get(c) for c in NOTIFICATION_COLUMNS})
            else:
                due.setdefault(receiver, []).append((e, nid, prev_attempts))
    return Plan(rows, due, previous)


def intent_rows(plan: Plan, clock: Callable[[], datetime] = utcnow) -> pd.DataFrame:
    """The `sending` rows to write before anything is sent: one attempt in flight each, with
    the idempotency key the send will carry. Confirmed or failed by the rows `send_planned`
    returns; left as they are if the run dies in between, so the next run resends them."""
    at = clock()
    rows = [
        row(
            e,
            nid,
            receiver,
            SENDING,
            attempts + 1,
            f"sending, idempotency key {idempotency_key(e, receiver)}; "
            "unconfirmed if still in this state",
            at,
        )
        for receiver, items in plan.due.items()
        for e, nid, attempts in items
    ]
    return ledger_frame(rows)
