"""What every channel shares: whether its connection exists, and the text of an alert."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from modelwatch.alerting.delivery import Delivery
from modelwatch.alerting.lifecycle import FLEET, RESOLVED, AlertEvent, top_metrics
from modelwatch.connections import get_connection
from modelwatch.untrusted import plain_text

log = logging.getLogger(__name__)


def read_secrets(conn_id: str | None) -> None:
    """Read the channel's connection through `get_connection` before its hook does, so every
    secret in it (the URL's path and query too) is registered for masking first."""
    if conn_id:
        get_connection(conn_id, required=False)


def connection_defined(conn_id: str) -> bool:
    """Whether an optional channel's connection exists (an absent one skips the channel)."""
    if get_connection(conn_id, required=False) is None:
        log.info("connection %s is not defined", conn_id)
        return False
    return True


def iso(dt: datetime) -> str:
    """RFC 3339 in UTC, as Alertmanager and webhooks expect (the warehouse keeps naive UTC)."""
    return dt.replace(microsecond=0).isoformat() + "Z"


def metric_lines(e: AlertEvent, k: int = 3) -> list[str]:
    """'metric: observed vs baseline (z)' for the top metrics that drove the anomaly."""
    out = []
    for m in top_metrics(e.detail, k):
        try:
            out.append(
                f"{m['metric']}: {float(m['observed']):.4g} vs baseline "
                f"{float(m['baseline']):.4g} (z {float(m['robust_z']):+.1f})"
            )
        except (KeyError, TypeError, ValueError):  # a null value: no finite metric this hour
            continue
    return out


def hint_text(e: AlertEvent, k: int = 3) -> str:
    """The top troubleshooting hints, numbered, on one line (log text is masked already)."""
    return " ".join(f"({i}) {h}" for i, h in enumerate(e.hints[:k], start=1))


def title(e: AlertEvent) -> str:
    what = "fleet incident" if e.kind == FLEET else f"{e.model_id} {e.kind}"
    state = "RESOLVED" if e.event == RESOLVED else e.severity.upper()
    return f"[{state}] {what}" + (" (reminder)" if e.event == "repeated" else "")


def describe(e: AlertEvent) -> dict[str, str]:
    """The human facts of one event, shared by every channel's rendering: raw text, which
    each channel escapes for its format (`escaped`) before it adds any markup."""
    facts = {
        "summary": e.summary,
        "event": e.event,
        "severity": e.severity,
        "since": iso(e.opened_hour) if e.opened_hour else "",
        "hour": iso(e.hour),
    }
    if e.score is not None:
        facts["score"] = f"{e.score:.4f}"
    lines = metric_lines(e)
    if lines:
        facts["top_metrics"] = "; ".join(lines)
    if e.hints:
        facts["hints"] = hint_text(e)
    if e.resolved_hour is not None:
        facts["resolved"] = iso(e.resolved_hour)
    for k in ("runbook_url", "run_url", "plot_url", "report_url", "incident_url"):
        if e.links.get(k):
            facts[k] = e.links[k]
    return facts


def escaped(facts: dict[str, str], escape: Callable[[str], str]) -> dict[str, str]:
    """Every value through the output format's escaping (`modelwatch.untrusted`)."""
    return {k: escape(v) for k, v in facts.items()}


def batch_text(events: Sequence[AlertEvent], escape: Callable[[str], str] = plain_text) -> str:
    """The batch as text, one line per fact; every piece escaped for the output format, so a
    line break in a model id or a hint cannot start a line of its own."""
    firing = sum(1 for e in events if e.event != RESOLVED)
    head = f"modelwatch: {firing} firing, {len(events) - firing} resolved"
    parts = [head]
    for e in events:
        f = escaped(describe(e), escape)
        parts.append(f"{escape(title(e))} since {f['since']}: {f['summary']}")
        for key in (
            "top_metrics",
            "runbook_url",
            "run_url",
            "plot_url",
            "report_url",
            "incident_url",
        ):
            if key in f:
                parts.append(f"    {key}: {f[key]}")
        parts += [f"    hint {i}: {escape(h)}" for i, h in enumerate(e.hints[:3], start=1)]
    return "\n".join(parts)


def http_options(timeout_s: float) -> dict[str, Any]:
    """HttpHook options for every HTTP channel: our timeout, our status check, and no
    redirects (a 3xx would take the request, and the connection's credentials, elsewhere)."""
    return {"timeout": timeout_s, "check_response": False, "allow_redirects": False}


def http_outcome(resp: Any, accepted: str) -> Delivery:
    """2xx is delivered; anything else, a redirect too, is a failure with its status."""
    code = resp.status_code
    if 200 <= code < 300:
        return Delivery(True, accepted)
    if 300 <= code < 400:
        where = resp.headers.get("Location", "?")
        return Delivery(False, f"HTTP {code}: redirect to {where} not followed")
    return Delivery(False, f"HTTP {code}: {resp.text[:200]}")


def compact_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)
