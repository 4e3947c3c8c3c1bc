"""A picture of why an alert fired: the top metrics over the last hours, anomalies marked.

Drawn only for alerts that notify in this run (a handful per hour): the model's metrics from
the fleet's source (one point per sample, whatever its interval) and its hourly verdicts in
`mw_scores` from the warehouse. Matplotlib's Agg backend needs no display.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

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
    if e.kind == DRIFT:  # reference vs current distributions, not the serving metrics
        hours = hours or settings.alerts.plot_hours
        return plot_drift(wh, settings.drift, e.model_id, e.hour, out, hours, source.companion(wh))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hours = hours or settings.alerts.plot_hours
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
    rows = rows.assign(hour=pd.to_datetime(rows[schema.TS]).dt.floor("h"))
    hourly = rows.groupby("hour")[metrics].mean()
    bad_hours = set(pd.to_datetime(scores.loc[scores["is_anomaly"].astype(bool), "hour"]))
    mid = pd.Timedelta(minutes=30)  # an hour's figures are drawn at its middle, over its samples
    baselines = {str(m["metric"]): m.get("baseline") for m in top_metrics(e.detail, 10)}

    fig, axes = plt.subplots(
        len(metrics) + 1, 1, figsize=(9, 2.1 * (len(metrics) + 1)), sharex=True
    )
    for ax, name in zip(axes, metrics, strict=False):
        ax.plot(pd.to_datetime(rows[schema.TS]), rows[name], lw=0.5, color="0.7", label="sample")
        ax.plot(hourly.index + mid, hourly[name], lw=1.5, color="tab:blue", label="hourly mean")
        marked = hourly[hourly.index.isin(bad_hours)]
        ax.scatter(
            marked.index + mid, marked[name], color="tab:red", zorder=3, label="anomalous hour"
        )
        base = baselines.get(name)
        if isinstance(base, int | float):
            ax.axhline(float(base), ls="--", lw=1, color="tab:green", label="baseline")
        ax.set_ylabel(name, fontsize=8)
        ax.legend(fontsize=6, loc="upper left")
    ax = axes[-1]
    if not scores.empty:
        ax.plot(pd.to_datetime(scores["hour"]) + mid, scores["score"], ".-", color="tab:purple")
        flagged = scores[scores["is_anomaly"].astype(bool)]
        ax.scatter(
            pd.to_datetime(flagged["hour"]) + mid, flagged["score"], color="tab:red", zorder=3
        )
    ax.set_ylabel("score", fontsize=8)
    ax.set_ylim(0, 1.02)
    fig.suptitle(
        f"{e.model_id} {e.kind} ({e.severity}) since {e.opened_hour or e.hour:%Y-%m-%d %H:00}"
    )
    fig.autofmt_xdate()
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, out, dpi=80)
    plt.close(fig)
    return out
