"""The alert step: episodes from signals, noise control, routing, content, delivery, ledger.

Three phases, so the embedded warehouse is never held while a slow channel times out:
read (signals, labels, silences, the ledger, plots of what will be sent) ending with the
ledger's `sending` rows for what is about to go out, deliver (no warehouse open), write
(episodes, confirmed ledger rows, attempt log, in one transaction).

Everything decided here is recomputed from stored facts each run: episodes from the hourly
signals, suppression from silences/windows/other alerts at the event's hour, and retries from
the ledger's owed rows (failed, or `sending` and never confirmed; their events are rebuilt from
the same episodes). So reruns in any order give the same rows. Delivery is at least once with a
stable idempotency key per notification (see `modelwatch.alerting.delivery`): a confirmed send
is never repeated, an unconfirmed one is repeated under the same key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from modelwatch.alerting import lifecycle, routing
from modelwatch.alerting.channels import available_receivers, notifier_factory
from modelwatch.alerting.closures import load_closures
from modelwatch.alerting.delivery import RetryPolicy, send_planned
from modelwatch.alerting.hinting import hints_for, with_hints
from modelwatch.alerting.ledger import (
    FAILED,
    OWED,
    SENDING,
    SENT,
    SUPPRESSED,
    event_key,
    intent_rows,
    notification_id,
    plan_delivery,
)
from modelwatch.alerting.overrides import alert_settings
from modelwatch.alerting.plots import plot_alert
from modelwatch.alerting.scope import alert_models, drop_unknown
from modelwatch.alerting.silences import load_silences
from modelwatch.config import Settings
from modelwatch.drift.findings import drift_signal_rows
from modelwatch.links import (
    ALERT_NOTES,
    REPORT_HTML,
    plot_name,
    report_folder,
    view_incident_url,
    view_report_url,
)
from modelwatch.run import RunContext, hour_key
from modelwatch.warehouse import Warehouse, WarehouseSpec, open_warehouse

log = logging.getLogger(__name__)


def load_signals(
    wh: Warehouse, models: list[str], start: datetime
) -> tuple[list[lifecycle.Signal], datetime | None]:
    """Every hour of trouble for these models since `start`, and the latest hour processed."""
    frame = wh.query(
        "SELECT model_id, hour, 'anomaly' AS kind, score, explanation AS detail FROM mw_scores "
        "WHERE is_anomaly AND hour >= :start AND model_id IN :models "
        "UNION ALL "
        "SELECT model_id, hour, CASE WHEN status = 'no_data' THEN 'outage' ELSE 'data_quality' END"
        " AS kind, NULL AS score, failed_checks AS detail FROM mw_validation "
        "WHERE status IN ('no_data', 'quarantined') AND hour >= :start AND model_id IN :models",
        {"start": start, "models": models},
    )
    drift = drift_signal_rows(wh, models, start).assign(kind=lifecycle.DRIFT, score=None)
    if len(drift):  # predictions that left their reference (see modelwatch.drift)
        frame = pd.concat([frame, drift[frame.columns]], ignore_index=True)
    latest = wh.query(
        "SELECT MAX(hour) AS h FROM mw_validation WHERE hour >= :start AND model_id IN :models",
        {"start": start, "models": models},
    )["h"].iloc[0]
    signals = lifecycle.signals_from(frame)
    return signals, None if pd.isna(latest) else pd.Timestamp(latest).to_pydatetime()


def without_fleet_outage_hours(
    signals: list[lifecycle.Signal], fleet: list[lifecycle.Signal]
) -> list[lifecycle.Signal]:
    """A model's "no data" in an hour when no model reported at all is the fleet's outage, not
    its own: one alert for the ingestion problem, not one per model."""
    gone = {s.hour for s in fleet if s.kind == lifecycle.OUTAGE}
    return [s for s in signals if not (s.kind == lifecycle.OUTAGE and s.hour in gone)]


def load_fleet_signals(
    wh: Warehouse, start: datetime, end: datetime, settings: Settings
) -> list[lifecycle.Signal]:
    """The fleet's own trouble in [start, end]: hours where a large share of the scored fleet
    was anomalous (one fleet incident, not a page per model), hours where no model reported
    at all (one fleet outage: an ingestion problem), and rows no model owns (null ids)."""
    own = wh.query(
        "SELECT hour, status, failed_checks FROM mw_validation WHERE model_id = :fleet "
        "AND status IN ('no_data', 'warning') AND hour >= :start AND hour <= :end",
        {"fleet": lifecycle.FLEET_ID, "start": start, "end": end},
    )
    found = [
        lifecycle.Signal(
            lifecycle.FLEET_ID,
            pd.Timestamp(r.hour).to_pydatetime(),
            lifecycle.OUTAGE if r.status == "no_data" else lifecycle.DATA_QUALITY,
            None,
            r.failed_checks,
        )
        for r in own.itertuples(index=False)
    ]
    counts = wh.query(
        "SELECT hour, SUM(CASE WHEN status = 'scored' THEN 1 ELSE 0 END) AS scored, "
        "SUM(CASE WHEN is_anomaly THEN 1 ELSE 0 END) AS anomalous, "
        "STRING_AGG(CASE WHEN is_anomaly THEN model_id END, ',') AS models "
        "FROM mw_scores WHERE hour >= :start AND hour <= :end GROUP BY hour",
        {"start": start, "end": end},
    )
    return found + lifecycle.fleet_signals(counts, settings.alerts)


def _retry_events(
    wh: Warehouse,
    owned: list[str],
    ctx: RunContext,
    start: datetime,
    episodes: list[lifecycle.Episode],
    settings: Settings,
    tiers: dict[str, str],
) -> tuple[list[lifecycle.AlertEvent], dict[str, set[str]], pd.DataFrame]:
    """Notifications of earlier hours that are still owed (failed, or sent but never
    confirmed): their events (rebuilt from the episodes), the receivers that still need each,
    and their ledger rows."""
    cfg = settings.alerts
    failed = wh.query(
        "SELECT * FROM mw_notifications WHERE state IN :owed AND hour >= :start "
        "AND hour < :hour AND model_id IN :models AND attempts < :max",
        {
            "owed": list(OWED),
            "start": start,
            "hour": ctx.hour,
            "models": owned,
            "max": cfg.delivery.max_attempts,
        },
    )
    owed: dict[str, set[str]] = {}
    events: list[lifecycle.AlertEvent] = []
    for h, rows in failed.groupby("hour"):
        hour = pd.Timestamp(h).to_pydatetime()
        for e in lifecycle.events_at(episodes, hour, cfg, tiers):
            receivers = {
                r.receiver
                for r in rows.itertuples(index=False)
                if r.notification_id == notification_id(e, r.receiver)
            }
            if receivers:
                owed[event_key(e)] = receivers
                events.append(e)
    return events, owed, failed


def _plot(
    wh: Warehouse, settings: Settings, e: lifecycle.AlertEvent, folder: Path
) -> dict[str, str]:
    """The alert's plot (drawn once per alert and hour); a failure only costs the picture."""
    path = folder / plot_name(e.alert_id)
    try:
        if not path.exists():
            drawn = plot_alert(wh, settings, e, path)
            if drawn is None:
                return {}
    except Exception:
        log.warning("could not draw the plot of %s", e.alert_id, exc_info=True)
        return {}
    base = settings.alerts.report_url
    url = f"{base.rstrip('/')}/{folder.name}/{path.name}" if base else path.as_uri()
    return {"plot_path": str(path), "plot_url": url}


def _write_report(
    folder: Path,
    ctx: RunContext,
    notes: pd.DataFrame,
    events: list[lifecycle.AlertEvent],
    unknown: list[str],
) -> None:
    """A short Markdown record of the hour's alert events and what became of them."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"# Alerts for {ctx.hour:%Y-%m-%d %H:00} UTC", "", f"run `{ctx.run_id}`", ""]
    lines += [f"The hour's findings and plots: [report.html]({REPORT_HTML})", ""]
    if unknown:
        names = ", ".join(f"`{m}`" for m in unknown)
        lines += [f"Unknown model ids (never seen in the warehouse, not paged): {names}", ""]
    by_key = {event_key(e): e for e in events}
    for r in notes.sort_values(["alert_id", "receiver"]).itertuples(index=False):
        e = by_key.get(f"{r.alert_id}:{r.event}:{hour_key(pd.Timestamp(r.hour))}")
        lines.append(f"- **{r.event}** `{r.alert_id}` -> {r.receiver}: {r.state} ({r.detail})")
        if e is not None:
            lines.append(f"  - {e.summary}")
            if e.links.get("plot_path"):
                lines.append(f"  - ![plot]({Path(e.links['plot_path']).name})")
    (folder / ALERT_NOTES).write_text("\n".join(lines) + "\n")


def alert_hour(
    ctx: RunContext,
    spec: WarehouseSpec,
    settings: Settings,
    notifier_for: Callable[[str], Any] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Rebuild the alert episodes of this run's models and deliver what is due."""
    cfg = settings.alerts
    start = ctx.hour - lifecycle.LOOKBACK
    full = ctx.models is None  # only a run over the whole fleet owns the fleet incident
    folder = report_folder(settings, ctx.hour)
    with open_warehouse(spec) as wh:
        models = alert_models(wh, ctx)
        owned = [*models, lifecycle.FLEET_ID] if full else list(models)
        signals, latest = load_signals(wh, models, start)
        signals, unknown = drop_unknown(wh, settings, signals)
        if unknown:
            log.warning("unknown model ids, not alerted on: %s", ", ".join(unknown))
        end = max(ctx.hour, latest or ctx.hour)
        fleet_signals = load_fleet_signals(wh, start, end, settings)
        signals = without_fleet_outage_hours(signals, fleet_signals)
        fleet_eps = lifecycle.build_episodes(fleet_signals, start, end, cfg)
        closures = load_closures(wh, models, start, end)  # baseline moves, retirements
        model_labels = routing.load_labels(wh, cfg, models)
        rules = alert_settings(settings, models, model_labels)  # per-model overrides
        episodes = lifecycle.build_episodes(signals, start, end, cfg, closures, rules)
        mine = episodes + (fleet_eps if full else [])
        tiers = {m: lab["tier"] for m, lab in model_labels.items() if "tier" in lab}
        events = lifecycle.events_at(mine, ctx.hour, cfg, tiers)
        hints = hints_for(wh, settings, mine, signals + fleet_signals, ctx.hour)
        retry, owed, retry_rows = (
            _retry_events(wh, owned, ctx, start, mine, settings, tiers)
            if ctx.notify
            else ([], {}, pd.DataFrame())
        )
        ledger = wh.query(
            "SELECT * FROM mw_notifications WHERE hour = :hour AND model_id IN :models",
            {"hour": ctx.hour, "models": owned},
        )
        if len(retry_rows):
            ledger = pd.concat([ledger, retry_rows], ignore_index=True)
        silences = load_silences(wh, start, ctx.hour)
        context_eps = episodes + fleet_eps
        todo = [
            routing.replace_links(
                routing.enrich(
                    with_hints(e, hints), routing.event_labels(e, model_labels), cfg, ctx.run_id
                ),
                {
                    "report_url": view_report_url(cfg.airflow_url, e.hour),
                    "incident_url": view_incident_url(cfg.airflow_url, e.alert_id),
                },
            )
            for e in [*retry, *events]
        ]
        held: dict[str, str] = {}
        for e in todo:
            reason = routing.suppression(e, e.labels, context_eps, silences, cfg)
            if reason is not None:
                held[event_key(e)] = reason
        routes = {
            event_key(e): (
                sorted(owed[event_key(e)])
                if event_key(e) in owed and e.hour != ctx.hour
                else available_receivers(cfg, routing.receivers_for(e.labels, cfg))
            )
            for e in todo
        }
        sent_before = (
            set(ledger.loc[ledger["state"] == SENT, "notification_id"]) if len(ledger) else set()
        )
        if ctx.notify and cfg.plots:
            drawn = []
            for e in todo:
                due = any(notification_id(e, r) not in sent_before for r in routes[event_key(e)])
                if due and event_key(e) not in held and e.kind != lifecycle.FLEET:
                    e = routing.replace_links(e, _plot(wh, settings, e, folder))
                drawn.append(e)
            todo = drawn
        why = (
            "backfill: recorded, would have notified"
            if ctx.mode.is_backfill
            else "notify is off for this run"
        )
        policy = RetryPolicy(
            cfg.delivery.retries, cfg.delivery.backoff_s, cfg.delivery.max_attempts
        )
        plan = plan_delivery(
            todo,
            [],
            ledger,
            ctx.notify,
            why,
            route=lambda e: routes[event_key(e)],
            held=held,
            max_attempts=policy.max_attempts,
        )
        intents = intent_rows(plan)
        if len(intents):  # on record before anything leaves: a crash after the send is retried
            wh.replace(
                "mw_notifications",
                intents,
                "notification_id IN :ids",
                {"ids": intents["notification_id"].tolist()},
            )
    result = send_planned(
        plan,
        notifier_for or notifier_factory(cfg),
        policy,
        **({"sleep": sleep} if sleep is not None else {}),
    )
    notes = result.ledger
    if len(retry_rows):  # an owed notification whose event is no longer produced stays owed
        kept = retry_rows[~retry_rows["notification_id"].isin(notes["notification_id"])]
        if len(kept):
            notes = pd.concat([notes, kept[notes.columns]], ignore_index=True)
    retry_ids = retry_rows["notification_id"].tolist() if len(retry_rows) else []
    with open_warehouse(spec) as wh, wh.transaction():
        wh.replace(
            "mw_alerts",
            lifecycle.episodes_frame(mine, cfg, tiers),
            "model_id IN :models AND opened_hour >= :start",
            {"models": owned, "start": start},
        )
        wh.replace(
            "mw_notifications",
            notes,
            "(hour = :hour AND model_id IN :models) OR notification_id IN :ids",
            {"hour": ctx.hour, "models": owned, "ids": retry_ids},
        )
        wh.replace(  # rebuilt like the alerts: this hour's hints of this run's models
            "mw_hints",
            hints,
            "hour = :hour AND model_id IN :models",
            {"hour": ctx.hour, "models": owned},
        )
        if len(result.attempts):
            wh.replace(
                "mw_notification_attempts",
                result.attempts,
                "attempt_id IN :ids",
                {"ids": result.attempts["attempt_id"].tolist()},
            )
    if todo or unknown:
        try:
            _write_report(folder, ctx, notes, todo, unknown)
        except OSError:
            log.warning("could not write the alert report in %s", folder, exc_info=True)
    states = notes["state"].value_counts().to_dict() if len(notes) else {}
    counts = {
        e: sum(1 for ev in events if ev.event == e) for e in (lifecycle.FIRING, lifecycle.RESOLVED)
    }
    return {
        "events": len(events),
        **counts,
        "notifications": len(notes),
        "sent": int(states.get(SENT, 0)),
        "failed": int(states.get(FAILED, 0)),
        "suppressed": int(states.get(SUPPRESSED, 0)),
        "unconfirmed": int(states.get(SENDING, 0)),
        "retried": len(retry),
        "attempts": len(result.attempts),
        "unknown_models": unknown,
    }
