"""Notification delivery and its ledger: grouped batches, no duplicates, retries, suppression.

The notifiers here are fakes that record their calls. That is fine for this module: `Notifier`
is our own protocol (a `name` and `send(events) -> Delivery`), so the fake is a complete
implementation of the contract `deliver` relies on, not a stand-in for someone else's API.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import pytest

from modelwatch.alerting import delivery
from modelwatch.alerting.delivery import (
    FAILED,
    NOTIFICATION_COLUMNS,
    SENT,
    SUPPRESSED,
    Delivery,
    LogNotifier,
    deliver,
    get_notifier,
    notification_id,
)
from modelwatch.alerting.lifecycle import FIRING, REPEATED, RESOLVED, AlertEvent

HOUR = datetime(2026, 11, 1, 9)
EMPTY_LEDGER = pd.DataFrame(columns=NOTIFICATION_COLUMNS)


class FakeNotifier:
    """Records every batch it is given; answers with `result`, or raises `error`."""

    def __init__(
        self, name: str, result: Delivery | None = None, error: Exception | None = None
    ) -> None:
        self.name = name
        self.result = result or Delivery(True, f"{name} ok")
        self.error = error
        self.calls: list[list[AlertEvent]] = []

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        self.calls.append(list(events))
        if self.error is not None:
            raise self.error
        return self.result


def channels(*notifiers: FakeNotifier):
    by_name = {n.name: n for n in notifiers}
    return by_name.__getitem__


def event(model: str, kind: str = "anomaly", ev: str = FIRING, hour: datetime = HOUR) -> AlertEvent:
    alert_id = f"{model}:{kind}:20261101T06"
    return AlertEvent(alert_id, model, kind, ev, "warning", hour, f"{model}: something odd")


EVENTS = [event("m1"), event("m2", "outage", REPEATED), event("m3", ev=RESOLVED)]


def run(
    *notifiers: FakeNotifier,
    events: Sequence[AlertEvent] = EVENTS,
    ledger: pd.DataFrame = EMPTY_LEDGER,
    notify_: bool = True,
    why: str = "notify is off for this run",
) -> pd.DataFrame:
    return deliver(
        events, [n.name for n in notifiers], ledger, notify_, why, notifier_for=channels(*notifiers)
    )


def states(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[str, int]]:
    """(model, receiver) -> (state, attempts)."""
    return {
        (r.model_id, r.receiver): (r.state, int(r.attempts)) for r in frame.itertuples(index=False)
    }


# -------------------------------------------------------------------------------------- sending
def test_events_go_once_per_receiver_as_one_grouped_batch() -> None:
    slack, pager = FakeNotifier("slack"), FakeNotifier("pager")
    frame = run(slack, pager)
    assert slack.calls == [EVENTS]
    assert pager.calls == [EVENTS]
    assert len(frame) == 6
    assert set(frame["state"]) == {SENT}
    assert set(frame["attempts"]) == {1}
    assert set(frame.loc[frame["receiver"] == "slack", "detail"]) == {"slack ok"}


def test_ledger_rows_shape() -> None:
    frame = run(FakeNotifier("slack"))
    assert list(frame.columns) == NOTIFICATION_COLUMNS
    assert frame["hour"].dtype == "datetime64[us]"
    row = frame.iloc[0]
    assert row["notification_id"] == "m1:anomaly:20261101T06:firing:20261101T09:slack"
    assert row["notification_id"] == notification_id(EVENTS[0], "slack")
    assert (row["alert_id"], row["model_id"], row["event"], row["receiver"]) == (
        "m1:anomaly:20261101T06",
        "m1",
        FIRING,
        "slack",
    )
    assert row["hour"] == pd.Timestamp(HOUR)
    assert frame["notification_id"].is_unique


def test_notification_id_distinguishes_event_hour_and_receiver() -> None:
    e = event("m1")
    ids = {
        notification_id(e, "a"),
        notification_id(e, "b"),
        notification_id(event("m1", ev=REPEATED), "a"),
        notification_id(event("m1", hour=datetime(2026, 11, 1, 13)), "a"),
    }
    assert len(ids) == 4


def test_no_events_sends_nothing() -> None:
    slack = FakeNotifier("slack")
    frame = run(slack, events=[])
    assert slack.calls == []
    assert frame.empty
    assert list(frame.columns) == NOTIFICATION_COLUMNS


# ---------------------------------------------------------------------------------------- reruns
def test_rerun_after_sending_sends_nothing_and_returns_identical_rows() -> None:
    first = run(FakeNotifier("slack"), FakeNotifier("pager"))
    slack, pager = FakeNotifier("slack"), FakeNotifier("pager")
    again = run(slack, pager, ledger=first)
    assert slack.calls == []
    assert pager.calls == []
    pd.testing.assert_frame_equal(again, first)


def test_only_new_events_are_sent_on_a_rerun() -> None:
    first = run(FakeNotifier("slack"), events=EVENTS[:2])
    slack = FakeNotifier("slack")
    again = run(slack, ledger=first)
    assert slack.calls == [[EVENTS[2]]]
    assert states(again) == {
        ("m1", "slack"): (SENT, 1),
        ("m2", "slack"): (SENT, 1),
        ("m3", "slack"): (SENT, 1),
    }


def test_previously_sent_rows_no_longer_produced_are_kept() -> None:
    first = run(FakeNotifier("slack"))
    slack = FakeNotifier("slack")
    again = run(slack, events=EVENTS[1:], ledger=first)
    assert slack.calls == []
    assert set(again["notification_id"]) == set(first["notification_id"])
    kept = again[again["model_id"] == "m1"].iloc[0]
    assert (kept["state"], kept["attempts"], kept["detail"]) == (SENT, 1, "slack ok")


# ----------------------------------------------------------------------------------- suppression
def test_notify_off_records_suppressed_rows_and_sends_nothing() -> None:
    slack, pager = FakeNotifier("slack"), FakeNotifier("pager")
    frame = run(slack, pager, notify_=False, why="backfill: recorded, would have notified")
    assert slack.calls == pager.calls == []
    assert len(frame) == 6
    assert set(frame["state"]) == {SUPPRESSED}
    assert set(frame["attempts"]) == {0}
    assert set(frame["detail"]) == {"backfill: recorded, would have notified"}
    assert list(frame.columns) == NOTIFICATION_COLUMNS


def test_notify_off_keeps_what_was_already_sent() -> None:
    first = run(FakeNotifier("slack"), events=EVENTS[:1])
    frame = run(FakeNotifier("slack"), ledger=first, notify_=False)
    assert states(frame) == {
        ("m1", "slack"): (SENT, 1),
        ("m2", "slack"): (SUPPRESSED, 0),
        ("m3", "slack"): (SUPPRESSED, 0),
    }


# -------------------------------------------------------------------------------------- failures
def test_a_raising_notifier_gives_failed_rows_and_does_not_block_others() -> None:
    broken = FakeNotifier("broken", error=ConnectionError("host unreachable"))
    fine = FakeNotifier("fine")
    frame = run(broken, fine)
    assert broken.calls == [EVENTS]
    assert fine.calls == [EVENTS]
    failed = frame[frame["receiver"] == "broken"]
    assert set(failed["state"]) == {FAILED}
    assert set(failed["attempts"]) == {1}
    assert set(failed["detail"]) == {"ConnectionError: host unreachable"}
    assert set(frame.loc[frame["receiver"] == "fine", "state"]) == {SENT}


def test_a_failing_receiver_listed_last_does_not_affect_the_first() -> None:
    fine, broken = FakeNotifier("fine"), FakeNotifier("broken", error=RuntimeError("boom"))
    frame = run(fine, broken)
    assert set(frame.loc[frame["receiver"] == "fine", "state"]) == {SENT}
    assert set(frame.loc[frame["receiver"] == "broken", "state"]) == {FAILED}


def test_a_refused_delivery_gives_failed_rows_with_its_detail() -> None:
    frame = run(FakeNotifier("slack", result=Delivery(False, "HTTP 503")))
    assert set(frame["state"]) == {FAILED}
    assert set(frame["detail"]) == {"HTTP 503"}


def test_failed_deliveries_are_retried_with_attempts_counted() -> None:
    first = run(FakeNotifier("slack", error=TimeoutError("slow")), FakeNotifier("pager"))
    still_down = FakeNotifier("slack", result=Delivery(False, "HTTP 502"))
    pager = FakeNotifier("pager")
    second = run(still_down, pager, ledger=first)
    assert still_down.calls == [EVENTS]
    assert pager.calls == []
    assert {s for (_, r), s in states(second).items() if r == "slack"} == {(FAILED, 2)}

    back_up = FakeNotifier("slack")
    third = run(back_up, FakeNotifier("pager"), ledger=second)
    assert back_up.calls == [EVENTS]
    assert {s for (_, r), s in states(third).items() if r == "slack"} == {(SENT, 3)}
    assert {s for (_, r), s in states(third).items() if r == "pager"} == {(SENT, 1)}


def test_only_failed_events_are_retried() -> None:
    first = run(FakeNotifier("slack"), events=EVENTS[:1])
    failing = run(FakeNotifier("slack", error=OSError("x")), events=EVENTS, ledger=first)
    slack = FakeNotifier("slack")
    again = run(slack, ledger=failing)
    assert slack.calls == [EVENTS[1:]]
    assert states(again) == {
        ("m1", "slack"): (SENT, 1),
        ("m2", "slack"): (SENT, 2),
        ("m3", "slack"): (SENT, 2),
    }


def test_an_unknown_receiver_in_deliver_fails_its_rows_but_not_the_run() -> None:
    frame = deliver(EVENTS[:1], ["no-such-channel"], EMPTY_LEDGER, True, "")
    assert list(frame["state"]) == [FAILED]
    assert "no-such-channel" in frame["detail"].iloc[0]


# ------------------------------------------------------------------------------------- registry
def test_log_notifier_logs_every_event(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="modelwatch.alerting.delivery"):
        result = LogNotifier().send(EVENTS[:2])
    assert result == Delivery(True, "logged 2 event(s)")
    messages = [r.getMessage() for r in caplog.records if r.name == "modelwatch.alerting.delivery"]
    assert len(messages) == 2
    assert "[WARNING] firing anomaly m1:anomaly:20261101T06: m1: something odd" in messages[0]
    assert "repeated outage m2:outage:20261101T06" in messages[1]


def test_deliver_through_the_default_log_channel(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="modelwatch.alerting.delivery"):
        frame = deliver(EVENTS, ["log"], EMPTY_LEDGER, True, "")
    assert set(frame["state"]) == {SENT}
    assert sum("m3:anomaly" in r.getMessage() for r in caplog.records) == 1


def test_get_notifier_known_and_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(get_notifier("log"), LogNotifier)
    monkeypatch.setitem(delivery._REGISTRY, "pager", lambda: FakeNotifier("pager"))
    with pytest.raises(ValueError, match="unknown receiver 'slack'") as info:
        get_notifier("slack")
    assert "known: log, pager" in str(info.value)


def test_register_makes_a_channel_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "_REGISTRY", dict(delivery._REGISTRY))
    fake = FakeNotifier("teams")
    delivery.register("teams", lambda: fake)
    assert get_notifier("teams") is fake
    frame = deliver(EVENTS[:1], ["teams"], EMPTY_LEDGER, True, "")
    assert fake.calls == [EVENTS[:1]]
    assert list(frame["state"]) == [SENT]
