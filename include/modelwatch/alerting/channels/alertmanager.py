"""Prometheus Alertmanager, API v2: `POST /api/v2/alerts` with one entry per alert event.

Alertmanager identifies an alert by its label set, so labels hold only what is stable for an
episode (alertname, model, kind, team, tier, owner, alert_id and the severity it opened with);
the changing facts go to annotations. A firing alert's `endsAt` lies past our next reminder
(the repeat interval plus an hour), so it stays active between our sends without us re-posting
every hour, and a resolve sends the same labels with `endsAt` = the hour it resolved. Grouping,
inhibition and routing inside Alertmanager still work on these labels.

Each alert carries the notification's idempotency key as the `idempotency_key` annotation, never
as a label: a label would make every resend a new alert. Alertmanager deduplicates a resend by
its labels by itself. Redirects are not followed: a 3xx is a failed delivery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from modelwatch.alerting.channels.base import (
    describe,
    escaped,
    http_options,
    http_outcome,
    iso,
    read_secrets,
)
from modelwatch.alerting.delivery import Delivery
from modelwatch.alerting.ledger import idempotency_key
from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.config import ChannelConfig
from modelwatch.run import HOUR
from modelwatch.untrusted import plain_text, safe_url

ENDPOINT = "/api/v2/alerts"
ALERTNAMES = {
    "anomaly": "ModelwatchAnomaly",
    "outage": "ModelwatchOutage",
    "data_quality": "ModelwatchDataQuality",
    "fleet": "ModelwatchFleetIncident",
}


def alert_labels(e: AlertEvent) -> dict[str, str]:
    """The episode's stable labels, as plain text (`plain_text`): Alertmanager's templates put
    them into Slack and e-mail messages unescaped. The same id always gives the same label."""
    labels = {
        "alertname": ALERTNAMES.get(e.kind, "Modelwatch"),
        "alert_id": e.alert_id,
        "model_id": e.model_id,
        "kind": e.kind,
        "severity": e.label_severity or e.severity,
        "source": "modelwatch",
    }
    for k in ("team", "tier", "owner"):
        if e.labels.get(k):
            labels[k] = e.labels[k]
    return escaped(labels, plain_text)


def postable_alert(
    e: AlertEvent, now: datetime, repeat_hours: int, receiver: str = "am"
) -> dict[str, Any]:
    """One PostableAlert (labels, annotations, startsAt, endsAt, generatorURL)."""
    annotations = escaped(describe(e), plain_text)
    annotations["current_severity"] = annotations.pop("severity")
    annotations["idempotency_key"] = idempotency_key(e, receiver)
    if e.resolved_hour is not None:
        ends = e.resolved_hour
    else:
        ends = max(e.hour + HOUR, now) + timedelta(hours=repeat_hours + 1)
    body: dict[str, Any] = {
        "labels": alert_labels(e),
        "annotations": annotations,
        "startsAt": iso(e.opened_hour or e.hour),
        "endsAt": iso(ends),
    }
    if safe_url(e.links.get("run_url")):
        body["generatorURL"] = safe_url(e.links["run_url"])
    return body


def payload(
    events: Sequence[AlertEvent], now: datetime, repeat_hours: int, receiver: str = "am"
) -> list[dict[str, Any]]:
    # Oldest first: if a batch holds a retried firing and the resolve of the same alert,
    # Alertmanager ends with the resolve.
    ordered = sorted(events, key=lambda e: (e.hour, e.event == "resolved"))
    return [postable_alert(e, now, repeat_hours, receiver) for e in ordered]


class AlertmanagerNotifier:
    """Posts a run's alerts for this receiver in one request, through `HttpHook`."""

    def __init__(self, name: str, ch: ChannelConfig, repeat_hours: int = 4) -> None:
        self.name = name
        self.ch = ch
        self.repeat_hours = repeat_hours

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        from airflow.providers.http.hooks.http import HttpHook

        read_secrets(self.ch.conn_id)
        hook = HttpHook(method="POST", http_conn_id=self.ch.conn_id)
        now = datetime.now(UTC).replace(tzinfo=None)
        resp = hook.run(
            ENDPOINT,
            json=payload(events, now, self.repeat_hours, self.name),
            headers={"Content-Type": "application/json"},
            extra_options=http_options(self.ch.timeout_s),
        )
        return http_outcome(resp, f"alertmanager accepted {len(events)} alert(s)")
