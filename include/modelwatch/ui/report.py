"""The human report of an hour: one HTML page with the hour's findings and plots.

Written by the run's last step (`pipeline.steps.summary`) into the hour's report folder, beside
the alert step's `alerts.md` and plots (`folders.Folders.report`, one folder per hour), and served
by the Model health view at `/modelwatch/reports/<hour>/report.html`. Everything in it is read
back from the warehouse, so it shows the whole hour whichever run (scheduled, rerun of a few
models, backfill) wrote it last, and a rerun rewrites it. Plots are drawn for the hour's alerts
(the alert step draws them only for alerts that notify), and relative links keep the folder
self-contained: it opens from disk as well as through the view.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from modelwatch.alerting import lifecycle
from modelwatch.alerting.plots import plot_alert
from modelwatch.config import Settings
from modelwatch.drift.findings import hour_drift
from modelwatch.folders import hour_key
from modelwatch.ingest.source import MetricsSource
from modelwatch.links import REPORT_HTML, plot_name, run_url
from modelwatch.run import HOUR
from modelwatch.storage import StorePath, write_text_atomically
from modelwatch.ui import queries
from modelwatch.ui.render import render
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)


def _event(a: dict[str, Any], hour: datetime) -> lifecycle.AlertEvent:
    """An alert row as the event the plotting code draws."""
    return lifecycle.AlertEvent(
        alert_id=a["alert_id"],
        model_id=a["model_id"],
        kind=a["kind"],
        event=a["event"],
        severity=a["severity"],
        hour=hour,
        summary=a["summary"],
        opened_hour=a["opened_hour"],
        resolved_hour=a["resolved_hour"],
        score=a["peak_score"],
        detail=a.get("explanation") or "[]",
    )


def draw_plots(
    wh: Warehouse,
    source: MetricsSource,
    settings: Settings,
    rows: list[dict[str, Any]],
    hour: datetime,
    folder: StorePath,
) -> dict[str, str]:
    """Each alert's plot, as a link relative to `folder`.

    A plot is drawn when the alert opens or resolves in the hour, or when none of the last
    `repeat_interval_hours` hours has one (the reminder's rhythm); otherwise the report links
    the recent one in its own hour's folder, so a long incident costs a few plots, not one an
    hour. A plot that cannot be drawn costs only the picture, never the report."""
    out: dict[str, str] = {}
    if not settings.alerts.plots:
        return out
    fresh = timedelta(hours=settings.alerts.repeat_interval_hours)
    for a in rows:
        if a["kind"] == lifecycle.FLEET:
            continue
        e = _event(a, hour)
        name = plot_name(e.alert_id)
        if a["event"] == "firing":  # neither opened nor resolved now: reuse a recent plot
            h = hour - HOUR
            while h >= max(a["opened_hour"], hour - fresh):
                if (folder.parent / hour_key(h) / name).is_file():
                    out[a["alert_id"]] = f"../{hour_key(h)}/{name}"
                    break
                h -= HOUR
            if a["alert_id"] in out:
                continue
        path = folder / name
        try:
            if path.exists() or plot_alert(wh, source, settings, e, path) is not None:
                out[a["alert_id"]] = name
        except Exception:
            log.warning("could not draw the plot of %s", a["alert_id"], exc_info=True)
    return out


def collect(wh: Warehouse, hour: datetime) -> dict[str, Any]:
    """Everything the report shows, read from the warehouse."""
    from modelwatch.run import HOUR

    return {
        "hour": hour,
        "summary": queries.hour_run(wh, hour),
        "alerts": queries.alerts_active(wh, hour),
        "scores": queries.hour_scores(wh, hour),
        "kept_out": queries.hour_validation(wh, hour),
        "requests": queries.requests(wh, hour, hour + HOUR, include_waiting=False),
        "notifications": queries.hour_notifications(wh, hour),
        "drift": hour_drift(wh, hour),
    }


def write_report_html(
    wh: Warehouse,
    source: MetricsSource,
    settings: Settings,
    hour: datetime,
    folder: StorePath,
    run_id: str | None = None,
    models: list[str] | None = None,
) -> StorePath:
    """Write the hour's `report.html` into its `folder` (atomically: a reader never sees
    half a page)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = collect(wh, hour)
    plots = draw_plots(wh, source, settings, data["alerts"], hour, folder)
    html = render(
        "report.html",
        **data,
        plots=plots,
        run_id=run_id,
        run_url=run_url(settings.alerts, run_id) if run_id else None,
        models=models,
    )
    path = folder / REPORT_HTML
    write_text_atomically(path, html)
    return path
