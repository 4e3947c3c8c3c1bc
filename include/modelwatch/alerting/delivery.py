"""Notifiers: where alert events go, and the ledger that keeps them from going twice.

A notifier receives one batch per run (all of that run's events for its receiver, grouped) and
says whether delivery worked. Real channels (Alertmanager, Slack, email, webhooks) implement the
same `Notifier` protocol.

The guarantee, stated as it truly holds: delivery is **at least once, with a stable idempotency
key**. Each notification (alert event x receiver) has a `notification_id` and, derived from it,
an `idempotency_key` that never changes across retries and reruns. The ledger row is written
*before* the send, in state `sending` with that key, and confirmed (`sent` or `failed`) after
it. A run that dies between the two (a crash, the warehouse gone, a client timeout after the
receiver already had the message) leaves the row `sending`, and a later run sends it again
with the same key; a confirmed `sent` row is never sent again. So a receiver may see an event
twice, never under two keys: webhook receivers deduplicate on the `Idempotency-Key` header (per
batch) or the `idempotencyKey` of each alert; Alertmanager deduplicates by labels by itself
(the key rides along as an annotation); Slack and email cannot deduplicate, so a retry after an
unconfirmed send may repeat a message there.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pandas as pd

from modelwatch.alerting.ledger import (
    ATTEMPT_COLUMNS,
    FAILED,
    NOTIFICATION_COLUMNS,
    OWED,
    SENDING,
    SENT,
    SUPPRESSED,
    UNLIMITED_ATTEMPTS,
    Plan,
    event_key,
    idempotency_key,
    intent_rows,
    ledger_frame,
    notification_id,
    plan_delivery,
    row,
    utcnow,
)
from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.alerting.redaction import protect_loggers, redact
from modelwatch.untrusted import plain_text

#: The ledger's names stay importable from here, where callers have always found them.
__all__ = [
    "ATTEMPT_COLUMNS",
    "FAILED",
    "NOTIFICATION_COLUMNS",
    "OWED",
    "SENDING",
    "SENT",
    "SUPPRESSED",
    "Delivery",
    "DeliveryResult",
    "LogNotifier",
    "Notifier",
    "Plan",
    "RetryPolicy",
    "deliver",
    "deliver_all",
    "event_key",
    "get_notifier",
    "idempotency_key",
    "intent_rows",
    "notification_id",
    "plan_delivery",
    "redact",
    "register",
    "send_planned",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    ok: bool
    detail: str = ""


class Notifier(Protocol):
    """A channel: delivers one grouped batch of events and reports how it went."""

    name: str

    def send(self, events: Sequence[AlertEvent]) -> Delivery: ...


class LogNotifier:
    """Writes events to the task log: the always-available channel, and the demo's default."""

    name = "log"

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        for e in events:  # plain text: a line break in an id cannot forge a log line
            log.warning(
                "[%s] %s %s %s: %s",
                e.severity.upper(),
                e.event,
                e.kind,
                plain_text(e.alert_id),
                plain_text(e.summary),
            )
        return Delivery(True, f"logged {len(events)} event(s)")


_REGISTRY: dict[str, Callable[[], Notifier]] = {"log": LogNotifier}


def register(name: str, factory: Callable[[], Notifier]) -> None:
    """Make a channel available to the `alerts.receivers` setting."""
    _REGISTRY[name] = factory


def get_notifier(name: str) -> Notifier:
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise ValueError(
            f"unknown receiver {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


@dataclass(frozen=True)
class RetryPolicy:
    """Tries per run (1 + retries, waiting backoff_s, 2x, 4x ... between them) and the number
    of attempts after which later runs stop retrying a notification."""

    retries: int = 0
    backoff_s: float = 0.0
    max_attempts: int = UNLIMITED_ATTEMPTS


@dataclass
class DeliveryResult:
    """The ledger rows for the events handled, and one row per delivery attempt made now."""

    ledger: pd.DataFrame
    attempts: pd.DataFrame
    sent: dict[str, list[AlertEvent]] = field(default_factory=dict)


def _send_with_retries(
    receiver: str,
    batch: list[AlertEvent],
    notifier_for: Callable[[str], Notifier],
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    clock: Callable[[], datetime],
) -> list[tuple[datetime, Delivery]]:
    """Try a receiver until it accepts the batch or the run's retries are used up."""
    tries: list[tuple[datetime, Delivery]] = []
    for i in range(retry.retries + 1):
        if i:
            sleep(retry.backoff_s * 2 ** (i - 1))
        at = clock()
        try:
            result = notifier_for(receiver).send(batch)
        except Exception as exc:  # a channel must never fail the run
            log.warning("receiver %s failed (try %d): %s", receiver, i + 1, type(exc).__name__)
            log.debug("receiver %s failure: %s", receiver, redact(traceback.format_exc()))
            result = Delivery(False, redact(f"{type(exc).__name__}: {exc}")[:500])
        tries.append((at, Delivery(result.ok, redact(result.detail))))
        if result.ok:
            break
    return tries


def send_planned(
    plan: Plan,
    notifier_for: Callable[[str], Notifier] = get_notifier,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = utcnow,
) -> DeliveryResult:
    """Send the plan's due batches (one per receiver, with retries) and return the ledger rows
    and the attempt log; one receiver's failure never affects another's."""
    retry = retry or RetryPolicy()
    protect_loggers()
    rows = list(plan.rows)
    attempt_rows: list[dict[str, object]] = []
    sent: dict[str, list[AlertEvent]] = {}
    for receiver, due in plan.due.items():
        batch = [e for e, _, _ in due]
        tries = _send_with_retries(receiver, batch, notifier_for, retry, sleep, clock)
        last_at, result = tries[-1]
        if result.ok:
            sent[receiver] = batch
        for e, nid, attempts in due:
            for k, (at, res) in enumerate(tries, start=attempts + 1):
                attempt_rows.append(
                    {
                        "attempt_id": f"{nid}#{k}",
                        "notification_id": nid,
                        "alert_id": e.alert_id,
                        "receiver": receiver,
                        "attempt": k,
                        "attempted_at": at,
                        "ok": res.ok,
                        "detail": res.detail,
                    }
                )
            state = SENT if result.ok else FAILED
            rows.append(row(e, nid, receiver, state, attempts + len(tries), result.detail, last_at))
    produced = {r["notification_id"] for r in rows}
    # A delivery already made stays on record even if this rerun no longer produces its event.
    rows.extend(
        {c: r.get(c) for c in NOTIFICATION_COLUMNS}
        for nid, r in plan.previous.items()
        if nid not in produced and r["state"] == SENT
    )
    attempts_frame = pd.DataFrame(attempt_rows, columns=ATTEMPT_COLUMNS)
    attempts_frame["attempted_at"] = pd.to_datetime(attempts_frame["attempted_at"]).astype(
        "datetime64[us]"
    )
    attempts_frame["ok"] = attempts_frame["ok"].astype(bool)
    return DeliveryResult(ledger_frame(rows), attempts_frame, sent)


def deliver_all(
    events: Sequence[AlertEvent],
    receivers: Sequence[str],
    ledger: pd.DataFrame,
    notify: bool,
    suppressed_because: str,
    notifier_for: Callable[[str], Notifier] = get_notifier,
    *,
    route: Callable[[AlertEvent], Sequence[str]] | None = None,
    held: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = utcnow,
) -> DeliveryResult:
    """Deliver what is due, one grouped batch per receiver, and return the ledger rows.

    `ledger` holds the existing rows for these events. Already-sent events are not resent;
    when `notify` is false nothing is sent and the rows record what would have been. `route`
    picks each event's receivers (default: all of `receivers`); `held` maps an alert event's
    key (`event_key`) to why it is held back (silence, inhibition, ...), recorded as
    suppressed. A failed (or unconfirmed `sending`) notification is retried with backoff inside
    the run, then by later runs until `max_attempts`. The alert step writes `intent_rows`
    between planning and sending; this one-call form is for callers without a ledger to keep.
    """
    retry = retry or RetryPolicy()
    plan = plan_delivery(
        events,
        receivers,
        ledger,
        notify,
        suppressed_because,
        route=route,
        held=held,
        max_attempts=retry.max_attempts,
    )
    return send_planned(plan, notifier_for, retry, sleep, clock)


def deliver(
    events: Sequence[AlertEvent],
    receivers: Sequence[str],
    ledger: pd.DataFrame,
    notify: bool,
    suppressed_because: str,
    notifier_for: Callable[[str], Notifier] = get_notifier,
    **options: object,
) -> pd.DataFrame:
    """`deliver_all` returning only the ledger rows (see there)."""
    return deliver_all(
        events,
        receivers,
        ledger,
        notify,
        suppressed_because,
        notifier_for,
        **options,  # type: ignore[arg-type]
    ).ledger
