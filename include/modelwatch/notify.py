"""Notifiers: where alert events go, and the ledger that keeps them from going twice.

A notifier receives one batch per run (all of that run's events for its receiver, grouped) and
says whether delivery worked. Real channels (Alertmanager, Slack, email, webhooks) implement the
same `Notifier` protocol; the ledger in `mw_notifications` is what makes reruns safe: an event
already delivered to a receiver is never delivered again, and a failed one is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from modelwatch.alerts import AlertEvent

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


def deliver(
    events: Sequence[AlertEvent],
    receivers: Sequence[str],
    ledger: pd.DataFrame,
    notify: bool,
    suppressed_because: str,
    notifier_for: Callable[[str], Notifier] = get_notifier,
) -> pd.DataFrame:
    """Deliver what is due and return the ledger rows for these events.

    `ledger` holds the existing rows for these events. Already-sent events are not resent;
    when `notify` is false nothing is sent and the rows record what would have been.
    """
    previous = {r.notification_id: r for r in ledger.itertuples(index=False)}
    rows = []
    for receiver in receivers:
        due, keep = [], []
        for e in events:
            nid = notification_id(e, receiver)
            prev = previous.get(nid)
            if prev is not None and prev.state == SENT:
                keep.append(prev._asdict())
            elif notify:
                due.append((e, nid, 0 if prev is None else int(prev.attempts)))
            else:
                keep.append(
                    {
                        "notification_id": nid,
                        "alert_id": e.alert_id,
                        "model_id": e.model_id,
                        "event": e.event,
                        "hour": e.hour,
                        "receiver": receiver,
                        "state": SUPPRESSED,
                        "attempts": 0,
                        "detail": suppressed_because,
                    }
                )
        if due:
            try:
                result = notifier_for(receiver).send([e for e, _, _ in due])
            except Exception as exc:  # a channel must never fail the run
                log.exception("receiver %s failed", receiver)
                result = Delivery(False, f"{type(exc).__name__}: {exc}")
            for e, nid, attempts in due:
                keep.append(
                    {
                        "notification_id": nid,
                        "alert_id": e.alert_id,
                        "model_id": e.model_id,
                        "event": e.event,
                        "hour": e.hour,
                        "receiver": receiver,
                        "state": SENT if result.ok else FAILED,
                        "attempts": attempts + 1,
                        "detail": result.detail,
                    }
                )
        rows.extend(keep)
    produced = {r["notification_id"] for r in rows}
    # A delivery already made stays on record even if this rerun no longer produces its event.
    rows.extend(
        r._asdict() for nid, r in previous.items() if nid not in produced and r.state == SENT
    )
    frame = pd.DataFrame(rows, columns=NOTIFICATION_COLUMNS)
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    return frame
