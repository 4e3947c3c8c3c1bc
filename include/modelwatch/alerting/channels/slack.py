"""Slack incoming webhook, through the Slack provider's `SlackWebhookHook`.

The webhook URL is a secret: it lives in the connection's password (a `slackwebhook`
connection: the full URL, or the token part with the host). One message per run groups the
alerts: a fallback `text` plus Block Kit sections, as Slack's webhook contract documents; a
reply other than 200 is a failed delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelwatch.alerting.channels.base import batch_text, describe, read_secrets, title
from modelwatch.alerting.delivery import Delivery
from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.config import ChannelConfig
from modelwatch.untrusted import slack_link, slack_text

#: Slack allows 50 blocks per message; the rest of a very large batch is summarised.
MAX_ALERT_BLOCKS = 40


def blocks(events: Sequence[AlertEvent]) -> list[dict[str, Any]]:
    """Block Kit sections, one per alert: every piece of text escaped (`slack_text`), so a
    model id, a summary or a hint cannot mention, link or format; only our links are links."""
    out: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"modelwatch: {len(events)} alert event(s)"},
        }
    ]
    for e in events[:MAX_ALERT_BLOCKS]:
        f = describe(e)
        lines = [f"*{slack_text(title(e))}* since {slack_text(f['since'])}", slack_text(e.summary)]
        if "top_metrics" in f:
            lines.append(slack_text(f["top_metrics"]))
        lines += [f"hint {i}: {slack_text(h)}" for i, h in enumerate(e.hints[:3], start=1)]
        links = [
            slack_link(f[k], k.split("_")[0])
            for k in ("runbook_url", "run_url", "plot_url", "report_url", "incident_url")
            if k in f
        ]
        if links:
            lines.append(" | ".join(links))
        out.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}})
    if len(events) > MAX_ALERT_BLOCKS:
        more = len(events) - MAX_ALERT_BLOCKS
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"+{more} more"}]})
    return out


class SlackNotifier:
    def __init__(self, name: str, ch: ChannelConfig) -> None:
        self.name = name
        self.ch = ch

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        read_secrets(self.ch.conn_id)
        hook = SlackWebhookHook(
            slack_webhook_conn_id=self.ch.conn_id, timeout=max(1, round(self.ch.timeout_s))
        )
        # Raises on any status but 200 (the hook's own check), which `deliver` records.
        hook.send(text=batch_text(events, slack_text)[:3000], blocks=blocks(events))
        return Delivery(True, f"slack accepted {len(events)} alert event(s)")
