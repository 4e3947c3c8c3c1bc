"""A picture of why an alert fired: the top metrics over the last hours, anomalies marked.

Drawn only for alerts that notify in this run (a handful per hour), and by the hour's report
for the others: the model's metrics from the fleet's source (one point per sample, whatever its
interval) and its hourly verdicts in `mw_scores` from the warehouse. Drawn with Matplotlib's
object API on an Agg canvas (no pyplot, no display), on a figure each thread keeps per number of
panels (`_figure`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pandas as pd

from modelwatch import schema
from modelwatch.alerting.lifecycle import DRIFT, AlertEvent, top_metrics
from modelwatch.config import Settings
from modelwatch.drift.plots import plot_drift
from modelwatch.ingest.source import MetricsSource
from modelwatch.run import HOUR
from modelwatch.storage import StorePath, save_png
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)

#: What to draw when the alert names no metrics (outage, data quality).
FALLBACK_METRICS = ("request_rate", "latency_p99_ms", "error_rate")
#: Dots per inch: the 9-inch-wide figure is 720 pixels, its 8-point labels readable.
DPI = 80
#: Height of one panel (a metric, or the score) in inches.
PANEL_INCHES = 2.1

_LOCAL = threading.local()


def plot_metrics(
    e: AlertEvent, k: int = 3, known: Sequence[str] = schema.METRIC_NAMES
) -> list[str]:
    """The alert's top metrics that are `known` (the configured ones, built-in and declared:
    a name read back from stored JSON is data, and only a configured one is ever read)."""
    names = [str(m["metric"]) for m in top_metrics(e.detail, k)]
    names = [n for n in names if n in set(known)]
    fallback = [m for m in FALLBACK_METRICS if m in set(known)] or list(known)[:k]
    return names or fallback


def plot_alert(
    wh: Warehouse,
    source: MetricsSource,
    settings: Settings,
    e: AlertEvent,
    out: StorePath,
    hours: int | None = None,
) -> StorePath | None:
    """Write the alert's PNG to `out` and return it (None when there is nothing to draw)."""
    hours = hours or settings.alerts.plot_hours
    if e.kind == DRIFT:  # reference vs current distributions, not the serving metrics
        return plot_drift(wh, settings.drift, e.model_id, e.hour, out, hours, source.companion(wh))
    end = e.hour + HOUR
    start = end - timedelta(hours=hours)
    metrics = plot_metrics(e, known=[m.name for m in settings.detection.reported_metrics])
    rows = source.read(start, end, [e.model_id])
    scores = wh.query(
        "SELECT hour, score, is_anomaly FROM mw_scores WHERE model_id = :m "
        "AND hour >= :start AND hour < :end ORDER BY hour",
        {"m": e.model_id, "start": start, "end": end},
    )
    metrics = [m for m in metrics if m in rows.columns and rows[m].notna().any()]
    if rows.empty or not metrics:
        return None
    draw_alert(e, rows, scores, metrics, out)
    return out


def draw_alert(
    e: AlertEvent, rows: pd.DataFrame, scores: pd.DataFrame, metrics: list[str], out: StorePath
) -> None:
    """The picture itself: a panel per metric (its samples, hourly means, anomalous hours
    marked, the baseline the explanation names) above the hourly scores, one legend for all."""
    rows = rows.assign(hour=pd.to_datetime(rows[schema.TS]).dt.floor("h"))
    hourly = rows.groupby("hour")[metrics].mean()
    flagged = scores[scores["is_anomaly"].astype(bool)]
    bad_hours = set(pd.to_datetime(flagged["hour"]))
    mid = pd.Timedelta(minutes=30)  # an hour's figures are drawn at its middle, over its samples
    baselines = {str(m["metric"]): m.get("baseline") for m in top_metrics(e.detail, 10)}
    times = pd.to_datetime(rows[schema.TS])

    fig, axes = _figure(len(metrics) + 1)
    legend: dict[str, Any] = {}  # label -> the first artist drawn with it
    for ax, name in zip(axes, metrics, strict=False):
        ax.plot(times, rows[name], lw=0.5, color="0.7", label="sample")
        ax.plot(hourly.index + mid, hourly[name], lw=1.5, color="tab:blue", label="hourly mean")
        marked = hourly[hourly.index.isin(bad_hours)]
        ax.scatter(
            marked.index + mid, marked[name], color="tab:red", zorder=3, label="anomalous hour"
        )
        base = baselines.get(name)
        if isinstance(base, int | float):
            ax.axhline(float(base), ls="--", lw=1, color="tab:green", label="baseline")
        ax.set_ylabel(name, fontsize=8)
        handles, labels = ax.get_legend_handles_labels()
        legend.update(
            (label, h) for h, label in zip(handles, labels, strict=True) if label not in legend
        )
    ax = axes[-1]
    if not scores.empty:
        ax.plot(pd.to_datetime(scores["hour"]) + mid, scores["score"], ".-", color="tab:purple")
        ax.scatter(
            pd.to_datetime(flagged["hour"]) + mid, flagged["score"], color="tab:red", zorder=3
        )
    ax.set_ylabel("score", fontsize=8)
    ax.set_ylim(0, 1.02)
    fig.suptitle(
        f"{e.model_id} {e.kind} ({e.severity}) since {e.opened_hour or e.hour:%Y-%m-%d %H:00}"
    )
    fig.legend(
        list(legend.values()),
        list(legend),
        loc="upper center",
        bbox_to_anchor=(0.5, 0.945),
        ncols=len(legend),
        fontsize=7,
        frameon=False,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, out, dpi=DPI)


def _figure(panels: int) -> tuple[Any, list[Any]]:
    """This thread's figure of `panels` stacked axes sharing the time axis, emptied of the last
    picture's data, legend and limits.

    Kept rather than built per plot: making the axes and their ticks was about a quarter of
    drawing one, and a report draws dozens an hour. Per thread, as Matplotlib's figures are not
    safe to share between threads."""
    figures: dict[int, tuple[Any, list[Any]]] = _LOCAL.__dict__.setdefault("figures", {})
    if panels not in figures:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, PANEL_INCHES * panels))
        FigureCanvasAgg(fig)
        axes = list(fig.subplots(panels, 1, sharex=True))  # inner panels' dates hidden
        # the dates under the last panel slanted and ending at their ticks (autofmt_xdate's
        # look, set once for every tick to come, not per picture)
        axes[-1].tick_params(axis="x", labelrotation=30, labelrotation_mode="xtick")
        fig.subplots_adjust(bottom=0.2)
        for ax in axes:  # the time axis has no label: never measure its siblings to place one
            ax.xaxis.set_label_coords(0.5, 0.0)
        figures[panels] = (fig, axes)
    fig, axes = figures[panels]
    for legend in list(fig.legends):
        legend.remove()
    for ax in axes:
        for artist in [*ax.lines, *ax.collections]:
            artist.remove()
        ax.relim()  # the data limits forgotten: the next picture's data sets them anew
        ax.autoscale()
    return fig, axes
