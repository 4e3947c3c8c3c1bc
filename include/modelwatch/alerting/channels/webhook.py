"""A generic JSON webhook: the payload Alertmanager's own webhook receiver sends (version 4),
so anything that already consumes Alertmanager webhooks consumes ours. Posted through the HTTP
provider's `HttpHook` to the connection's URL; any 2xx is success.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelwatch.alerting.channels.alertmanager import alert_labels
from modelwatch.alerting.channels.base import describe, iso
from modelwatch.alerting.delivery import Delivery
from modelwatch.alerting.lifecycle import RESOLVED, AlertEvent
from modelwatch.config import ChannelConfig


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
                "annotations": describe(e),
                "startsAt": iso(e.opened_hour or e.hour),
                "endsAt": iso(e.resolved_hour)
                if e.resolved_hour and e.event == RESOLVED
                else "0001-01-01T00:00:00Z",
                "generatorURL": e.links.get("run_url", ""),
                "fingerprint": e.alert_id,
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

        hook = HttpHook(method="POST", http_conn_id=self.ch.conn_id)
        resp = hook.run(
            None,
            json=payload(self.name, events),
            headers={"Content-Type": "application/json"},
            extra_options={"timeout": self.ch.timeout_s, "check_response": False},
        )
        if 200 <= resp.status_code < 300:
            return Delivery(True, f"webhook accepted {len(events)} alert event(s)")
        return Delivery(False, f"HTTP {resp.status_code}: {resp.text[:200]}")
