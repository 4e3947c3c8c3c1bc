"""A generic JSON webhook: the payload Alertmanager's own webhook receiver sends (version 4),
so anything that already consumes Alertmanager webhooks consumes ours. Posted through the HTTP
provider's `HttpHook` to the connection's URL; any 2xx is success, a redirect is not followed.

For deduplication by the receiver, each alert carries `idempotencyKey` (the notification's key,
the same on every resend of that event to this receiver), and the request carries an
`Idempotency-Key` header (the batch's key: the same when the same events are resent together).
Deduplicate on the per-alert key: a resent event may share a batch with new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelwatch.alerting.channels.alertmanager import alert_labels
from modelwatch.alerting.channels.base import (
    describe,
    escaped,
    http_options,
    http_outcome,
    iso,
    read_secrets,
)
from modelwatch.alerting.delivery import Delivery
from modelwatch.alerting.ledger import batch_key, idempotency_key
from modelwatch.alerting.lifecycle import RESOLVED, AlertEvent
from modelwatch.config import ChannelConfig
from modelwatch.untrusted import plain_text, safe_url


def _common(dicts: list[dict[str, str]]) -> dict[str, str]:
    if not dicts:
        return {}
    first = dicts[0]
    return {k: v for k, v in first.items() if all(d.get(k) == v for d in dicts[1:])}


def payload(receiver: str, events: Sequence[AlertEvent]) -> dict[str, Any]:
    alerts = []
    for e in events:
        alerts.append(
            {
                "status": "resolved" if e.event == RESOLVED else "firing",
                "labels": alert_labels(e),
                "annotations": escaped(describe(e), plain_text),
                "startsAt": iso(e.opened_hour or e.hour),
                "endsAt": iso(e.resolved_hour)
                if e.resolved_hour and e.event == RESOLVED
                else "0001-01-01T00:00:00Z",
                "generatorURL": safe_url(e.links.get("run_url", "")) or "",
                "fingerprint": plain_text(e.alert_id),
                "idempotencyKey": idempotency_key(e, receiver),
            }
        )
    labels = [a["labels"] for a in alerts]
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": f"modelwatch:{receiver}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": {},
        "commonLabels": _common(labels),
        "commonAnnotations": _common([a["annotations"] for a in alerts]),
        "externalURL": "",
        "alerts": alerts,
    }


class WebhookNotifier:
    def __init__(self, name: str, ch: ChannelConfig) -> None:
        self.name = name
        self.ch = ch

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        from airflow.providers.http.hooks.http import HttpHook

        read_secrets(self.ch.conn_id)
        hook = HttpHook(method="POST", http_conn_id=self.ch.conn_id)
        body = payload(self.name, events)
        key = batch_key(a["idempotencyKey"] for a in body["alerts"])
        resp = hook.run(
            None,
            json=body,
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            extra_options=http_options(self.ch.timeout_s),
        )
        return http_outcome(resp, f"webhook accepted {len(events)} alert event(s)")
