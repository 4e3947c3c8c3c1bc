"""Notifiers: where alert events go, and the ledger that keeps them from going twice.

A notifier receives one batch per run (all of that run's events for its receiver, grouped) and
says whether delivery worked. Real channels (Alertmanager, Slack, email, webhooks) implement the
same `Notifier` protocol; the ledger in `mw_notifications` is what makes reruns safe: an event
already delivered to a receiver is never delivered again, and a failed one is retried.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pandas as pd

from modelwatch.alerting.lifecycle import AlertEvent

log = logging.getLogger(__name__)

SENT, FAILED, SUPPRESSED = "sent", "failed", "suppressed"

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
        for e in events:
            log.warning(
                "[%s] %s %s %s: %s", e.severity.upper(), e.event, e.kind, e.alert_id, e.summary
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


def notification_id(event: AlertEvent, receiver: str) -> str:
    return f"{event.alert_id}:{event.event}:{event.hour:%Y%m%dT%H}:{receiver}"


@dataclass(frozen=True)
class RetryPolicy:
    """Tries per run (1 + retries, waiting backoff_s, 2x, 4x ... between them) and the number
    of attempts after which later runs stop retrying a notification."""

    retries: int = 0
    backoff_s: float = 0.0
    max_attempts: int = 1_000_000


@dataclass
class DeliveryResult:
    """The ledger rows for the events handled, and one row per delivery attempt made now."""

    ledger: pd.DataFrame
    attempts: pd.DataFrame
    sent: dict[str, list[AlertEvent]] = field(default_factory=dict)


_SECRETS = (
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "://***@"),  # user:password@ in a URL
    (re.compile(r"/services/[A-Za-z0-9/_-]+"), "/services/***"),  # a Slack webhook's token
    (re.compile(r"(?i)(token|password|secret|api[_-]?key)=[^&\s]+"), r"\1=***"),
)


def redact(text: str) -> str:
    """Channel errors end up in the ledger and logs; keep webhook tokens and passwords out."""
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _row(
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
            log.debug("receiver %s failure", receiver, exc_info=True)
            result = Delivery(False, redact(f"{type(exc).__name__}: {exc}")[:500])
        tries.append((at, Delivery(result.ok, redact(result.detail))))
        if result.ok:
            break
    return tries


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
    clock: Callable[[], datetime] = _utcnow,
) -> DeliveryResult:
    """Deliver what is due, one grouped batch per receiver, and return the ledger rows.

    `ledger` holds the existing rows for these events. Already-sent events are not resent;
    when `notify` is false nothing is sent and the rows record what would have been. `route`
    picks each event's receivers (default: all of `receivers`); `held` maps an alert event's
    key (`event_key`) to why it is held back (silence, inhibition, ...), recorded as
    suppressed. A failed receiver is retried with backoff inside the run, then by later runs
    until `max_attempts`; one receiver's failure never affects another's.
    """
    retry = retry or RetryPolicy()
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
    attempt_rows: list[dict[str, object]] = []
    sent: dict[str, list[AlertEvent]] = {}
    for receiver in order:
        due: list[tuple[AlertEvent, str, int]] = []
        for e in targets[receiver]:
            nid = notification_id(e, receiver)
            prev = previous.get(nid)
            prev_attempts = 0 if prev is None else int(prev["attempts"])
            reason = held.get(event_key(e))
            if prev is not None and prev["state"] == SENT:
                rows.append({c: prev.get(c) for c in NOTIFICATION_COLUMNS})
            elif reason is not None:
                rows.append(_row(e, nid, receiver, SUPPRESSED, prev_attempts, reason))
            elif not notify:
                if prev is not None and prev["state"] == FAILED:  # still owed; not ours to drop
                    rows.append({c: prev.get(c) for c in NOTIFICATION_COLUMNS})
                else:
                    rows.append(_row(e, nid, receiver, SUPPRESSED, 0, suppressed_because))
            elif prev is not None and prev_attempts >= retry.max_attempts:
                rows.append({c: prev.get(c) for c in NOTIFICATION_COLUMNS})
            else:
                due.append((e, nid, prev_attempts))
        if not due:
            continue
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
            rows.append(
                _row(
                    e,
                    nid,
                    receiver,
                    SENT if result.ok else FAILED,
                    attempts + len(tries),
                    result.detail,
                    last_at,
                )
            )
    produced = {r["notification_id"] for r in rows}
    # A delivery already made stays on record even if this rerun no longer produces its event.
    rows.extend(
        {c: r.get(c) for c in NOTIFICATION_COLUMNS}
        for nid, r in previous.items()
        if nid not in produced and r["state"] == SENT
    )
    frame = pd.DataFrame(rows, columns=NOTIFICATION_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    frame["last_attempt_at"] = pd.to_datetime(frame["last_attempt_at"]).astype("datetime64[us]")
    frame["attempts"] = frame["attempts"].astype("int64")
    attempts = pd.DataFrame(attempt_rows, columns=ATTEMPT_COLUMNS)
    attempts["attempted_at"] = pd.to_datetime(attempts["attempted_at"]).astype("datetime64[us]")
    attempts["ok"] = attempts["ok"].astype(bool)
    return DeliveryResult(frame, attempts, sent)


def event_key(e: AlertEvent) -> str:
    """An alert event independent of the receiver (the notification id minus the receiver)."""
    return f"{e.alert_id}:{e.event}:{e.hour:%Y%m%dT%H}"


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
