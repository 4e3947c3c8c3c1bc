"""The ledger's write-before-send rows and the stable keys, as pure logic."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from modelwatch.alerting.channels.webhook import payload
from modelwatch.alerting.delivery import Delivery, send_planned
from modelwatch.alerting.ledger import (
    NOTIFICATION_COLUMNS,
    SENDING,
    SENT,
    SUPPRESSED,
    idempotency_key,
    intent_rows,
    key_of,
    notification_id,
    plan_delivery,
)
from modelwatch.alerting.lifecycle import FIRING, AlertEvent
from modelwatch.alerting.redaction import redact

H = datetime(2026, 11, 1, 9)
E1 = AlertEvent("m1:anomaly:20261101T09", "m1", "anomaly", FIRING, "warning", H, "m1 anomaly")
EMPTY = pd.DataFrame(columns=NOTIFICATION_COLUMNS)
AT = datetime(2026, 11, 1, 10, 5)


class Ok:
    name = "hook"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, events) -> Delivery:
        self.calls += 1
        return Delivery(True, "ok")


def test_intent_rows_are_sending_with_the_key_and_one_attempt_in_flight() -> None:
    plan = plan_delivery([E1], ["hook"], EMPTY, True, "")
    rows = intent_rows(plan, clock=lambda: AT)
    nid = notification_id(E1, "hook")
    assert rows[["notification_id", "state", "attempts"]].values.tolist() == [[nid, SENDING, 1]]
    assert key_of(nid) in rows["detail"].iloc[0]
    assert idempotency_key(E1, "hook") == key_of(nid) and key_of(nid).isascii()


def test_an_unconfirmed_sending_row_is_sent_again_and_then_confirmed() -> None:
    stuck = intent_rows(plan_delivery([E1], ["hook"], EMPTY, True, ""), clock=lambda: AT)
    ok = Ok()
    plan = plan_delivery([E1], ["hook"], stuck, True, "")
    got = send_planned(plan, lambda _: ok, clock=lambda: AT)
    assert ok.calls == 1
    assert got.ledger[["state", "attempts"]].values.tolist() == [[SENT, 2]]
    assert got.attempts["attempt"].tolist() == [2]
    # confirmed: never again
    again = send_planned(plan_delivery([E1], ["hook"], got.ledger, True, ""), lambda _: ok)
    assert ok.calls == 1 and again.ledger["state"].tolist() == [SENT]


def test_notify_off_keeps_an_unconfirmed_row_owed_rather_than_suppressing_it() -> None:
    stuck = intent_rows(plan_delivery([E1], ["hook"], EMPTY, True, ""), clock=lambda: AT)
    plan = plan_delivery([E1], ["hook"], stuck, False, "backfill")
    assert plan.due == {} and [r["state"] for r in plan.rows] == [SENDING]
    fresh = plan_delivery([E1], ["hook"], EMPTY, False, "backfill")
    assert [r["state"] for r in fresh.rows] == [SUPPRESSED]


def test_webhook_payload_carries_each_alerts_key() -> None:
    body = payload("hook", [E1])
    assert body["alerts"][0]["idempotencyKey"] == idempotency_key(E1, "hook")
    assert "idempotencyKey" not in body["alerts"][0]["labels"]


def test_redact_masks_url_paths_and_queries_but_keeps_the_host() -> None:
    text = "ConnectionError: HTTPConnectionPool: Max retries exceeded with url: /hook/AbC123xyz"
    assert "AbC123xyz" not in redact(text)
    out = redact("POST https://hooks.example.org/hook/AbC123xyz?sig=qqq failed")
    assert out == "POST https://hooks.example.org/*** failed"
