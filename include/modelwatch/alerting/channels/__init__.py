"""Real notification channels, configured by name in `alerts.channels`.

Each channel reads its address and secrets from an Airflow connection and talks through the
provider's hook: Alertmanager and the generic webhook through the HTTP provider's `HttpHook`,
Slack through `SlackWebhookHook`, email through `SmtpHook`. Inside a task the connection is
resolved by Airflow (secrets backend, database, env); outside (CLI, tests) from
`AIRFLOW_CONN_<ID>`. Nothing here logs a URL, token or password.

`send_test` is `modelwatch notify test`: one event, clearly marked as a test, through the
receiver's real channel code, without the ledger (nothing is written to the alert tables).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from modelwatch.alerting.channels.base import connection_defined
from modelwatch.alerting.delivery import Delivery, Notifier, get_notifier
from modelwatch.alerting.lifecycle import FIRING, AlertEvent
from modelwatch.alerting.redaction import protect_loggers, redact
from modelwatch.config import AlertsConfig, ChannelConfig
from modelwatch.config.crosscheck import receiver_names, unknown_receiver

#: The test event's model id and kind: no model or alert kind has them.
TEST_MODEL = "__modelwatch_test__"
TEST_KIND = "test"
#: How long Alertmanager keeps the test alert active (its endsAt).
TEST_LIFETIME = timedelta(minutes=5)


def build(name: str, ch: ChannelConfig, cfg: AlertsConfig | None = None) -> Notifier:
    if ch.type == "log":
        return get_notifier("log")
    if ch.type == "alertmanager":
        from modelwatch.alerting.channels.alertmanager import AlertmanagerNotifier

        return AlertmanagerNotifier(name, ch, (cfg or AlertsConfig()).repeat_interval_hours)
    if ch.type == "slack":
        from modelwatch.alerting.channels.slack import SlackNotifier

        return SlackNotifier(name, ch)
    if ch.type == "email":
        from modelwatch.alerting.channels.email import EmailNotifier

        return EmailNotifier(name, ch)
    from modelwatch.alerting.channels.webhook import WebhookNotifier

    return WebhookNotifier(name, ch)


def notifier_factory(cfg: AlertsConfig) -> Callable[[str], Notifier]:
    """Receiver name -> notifier: configured channels first, then built-ins (`log`)."""

    def make(name: str) -> Notifier:
        ch = cfg.channels.get(name)
        return build(name, ch, cfg) if ch is not None else get_notifier(name)

    return make


def available_receivers(cfg: AlertsConfig, names: list[str]) -> list[str]:
    """Drop optional channels whose connection is not defined (the others stay: a missing
    required connection must show up as failed notifications, not silence)."""
    out = []
    for name in names:
        ch = cfg.channels.get(name)
        if ch is not None and ch.optional and ch.conn_id and not connection_defined(ch.conn_id):
            continue
        out.append(name)
    return out


class ReceiverSkipped(LookupError):
    """An optional receiver whose connection is not defined: nothing to send through."""


def test_event(receiver: str, now: datetime) -> AlertEvent:
    """An event no one can take for a real alert: its id, model, kind and text say TEST, and
    it ends by itself (Alertmanager keeps it active for a few minutes)."""
    stamp = f"{now:%Y%m%dT%H%M%S}"
    return AlertEvent(
        alert_id=f"test-{receiver}-{stamp}",
        model_id=TEST_MODEL,
        kind=TEST_KIND,
        event=FIRING,
        severity="info",
        hour=now.replace(minute=0, second=0, microsecond=0),
        summary=(
            f"TEST notification from modelwatch to receiver {receiver} at "
            f"{now:%Y-%m-%d %H:%M} UTC: nothing is wrong; sent by `modelwatch notify test`"
        ),
        opened_hour=now,
        resolved_hour=now + TEST_LIFETIME,
        label_severity="info",
    )


def send_test(cfg: AlertsConfig, receiver: str, now: datetime) -> Delivery:
    """Send `test_event` through `receiver`'s own channel; its result, never an exception."""
    if receiver not in receiver_names(cfg):
        raise ValueError(unknown_receiver(receiver, receiver_names(cfg)))
    if not available_receivers(cfg, [receiver]):
        ch = cfg.channels[receiver]
        raise ReceiverSkipped(
            f"receiver {receiver} is optional and its connection {ch.conn_id} is not defined: "
            "runs skip it; nothing sent"
        )
    protect_loggers()
    try:
        got = notifier_factory(cfg)(receiver).send([test_event(receiver, now)])
        return Delivery(got.ok, redact(got.detail))
    except Exception as exc:  # the channel's failure is the test's result
        detail = redact(f"{type(exc).__name__}: {exc}")
        return Delivery(False, " ".join(detail.split())[:500])
