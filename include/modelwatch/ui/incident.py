"""One incident end to end, for its page in the Model health view.

On-call follows an alert from the page it received to what was done about it: the metrics and
the detector's verdict by hour (with why), the alert's events and every notification, the
troubleshooting hints (`mw_hints`, when that table exists), and the remediation requests that
answer it with every status change and who decided. Everything is read here, in one place;
nothing writes.
"""

from __future__ import annotations

import base64
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.alerting.plots import plot_alert
from modelwatch.config import Settings
from modelwatch.ingest.source import MetricsSource
from modelwatch.run import HOUR
from modelwatch.ui.queries import _records, explanation
from modelwatch.warehouse import Warehouse

#: Hours of verdicts shown before the alert opened and after it resolved (or last signalled).
CONTEXT = timedelta(hours=6)
HINTS = "mw_hints"


def _plot(
    wh: Warehouse, source: MetricsSource, settings: Settings, a: dict[str, Any], end: datetime
) -> str | None:
    """The alert's metric plot as a data URI (the view serves no files for shadows)."""
    e = AlertEvent(
        a["alert_id"],
        a["model_id"],
        a["kind"],
        "firing",
        a["severity"],
        end - HOUR,
        a["summary"],
        opened_hour=a["opened_hour"],
        resolved_hour=a["resolved_hour"],
        score=a["peak_score"],
        detail=a["explanation"] or "[]",
    )
    hours = max(24, int((end - a["opened_hour"] + CONTEXT) / HOUR))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = plot_alert(wh, source, settings, e, Path(tmp) / "plot.png", hours=hours)
        except Exception:  # a plot is a picture: never the reason a page fails
            return None
        if path is None:
            return None
        data = base64.b64encode(path.read_bytes()).decode()
    return f"data:image/png;base64,{data}"


def incident(
    wh: Warehouse, source: MetricsSource, settings: Settings, alert_id: str, plot: bool = True
) -> dict[str, Any] | None:
    """Everything the incident page shows about `alert_id`, or None if there is no such alert."""
    found = _records(wh.query("SELECT * FROM mw_alerts WHERE alert_id = :id", {"id": alert_id}))
    if not found:
        return None
    a = found[0]
    a["metrics"] = explanation(a.get("explanation"))
    last = a["resolved_hour"] or a["last_signal_hour"]
    start, end = a["opened_hour"] - CONTEXT, last + CONTEXT
    p = {"m": a["model_id"], "start": start, "end": end, "id": alert_id}
    verdicts = _records(
        wh.query(
            "SELECT s.hour, s.status, s.score, s.threshold, s.is_anomaly, s.top_metrics, "
            "s.explanation, v.status AS gate, v.failed_checks FROM mw_scores s "
            "LEFT JOIN mw_validation v ON v.hour = s.hour AND v.model_id = s.model_id "
            "WHERE s.model_id = :m AND s.hour >= :start AND s.hour <= :end ORDER BY s.hour",
            p,
        )
    )
    for v in verdicts:
        v["metrics"] = explanation(v.get("explanation"), 3)
        v["in_alert"] = a["opened_hour"] <= v["hour"] and (
            a["resolved_hour"] is None or v["hour"] < a["resolved_hour"]
        )
    notes = _records(
        wh.query("SELECT * FROM mw_notifications WHERE alert_id = :id ORDER BY hour, receiver", p)
    )
    events: dict[tuple[str, datetime], dict[str, Any]] = {}
    for n in notes:
        ev = events.setdefault(
            (n["event"], n["hour"]), {"event": n["event"], "hour": n["hour"], "receivers": []}
        )
        ev["receivers"].append(n)
    hints = (
        _records(wh.query(f"SELECT * FROM {HINTS} WHERE alert_id = :id ORDER BY hour, rank", p))
        if wh.table_exists(HINTS)
        else None
    )
    requests = _records(
        wh.query(
            "SELECT * FROM mw_remediation_requests WHERE alert_id = :id ORDER BY hour, action", p
        )
    )
    trail = _records(
        wh.query(
            "SELECT * FROM mw_remediation_events WHERE request_id IN :ids ORDER BY request_id, seq",
            {"ids": [r["request_id"] for r in requests]},
        )
    )
    for r in requests:
        r["events"] = [t for t in trail if t["request_id"] == r["request_id"]]
        r["approved_by"] = [
            t["actor"] for t in r["events"] if t["to_status"] in ("approved", "rejected")
        ]
    return {
        "alert": a,
        "plot": _plot(wh, source, settings, a, last + HOUR) if plot else None,
        "verdicts": verdicts,
        "events": sorted(events.values(), key=lambda e: e["hour"]),
        "hints": hints,
        "requests": requests,
    }
