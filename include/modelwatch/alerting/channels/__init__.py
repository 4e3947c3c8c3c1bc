"""Real notification channels, configured by name in `alerts.channels`.

Each channel reads its address and secrets from an Airflow connection and talks through the
provider's hook: Alertmanager and the generic webhook through the HTTP provider's `HttpHook`,
Slack through `SlackWebhookHook`, email through `SmtpHook`. Inside a task the connection is
resolved by Airflow (secrets backend, database, env); outside (CLI, tests) from
`AIRFLOW_CONN_<ID>`. Nothing here logs a URL, token or password.
"""

from __future__ import annotations

from collections.abc import Callable

from modelwatch.alerting.channels.base import connection_defined
from modelwatch.alerting.delivery import Notifier, get_notifier
from modelwatch.config import AlertsConfig, ChannelConfig


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
