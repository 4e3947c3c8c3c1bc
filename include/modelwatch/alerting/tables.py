"""The alert stage's stored facts and records: what the alert stages read, and what they write.

Everything the alert stages decide is recomputed from stored facts each run: signals from the
hourly verdicts (`mw_scores`, `mw_validation`, `mw_drift`), closures (baseline moves,
retirements), labels, silences, and the notification ledger. `load_inputs` reads them for one
hour; `record_intents` and `record_hour` write the outcome, replacing exactly the rows the
run owns, so reruns in any order give the same rows.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from modelwatch.alerting import lifecycle
from modelwatch.alerting.closures import baseline_closure, retirement_closure
from modelwatch.alerting.ledger import OWED
from modelwatch.alerting.pipeline import AlertInputs
from modelwatch.alerting.rules import alert_settings
from modelwatch.alerting.scope import alert_models, drop_unknown
from modelwatch.alerting.silence_table import load_silences
from modelwatch.config import Settings
from modelwatch.drift.findings import drift_signal_rows
from modelwatch.labels import table_labels
from modelwatch.run import Run
from modelwatch.warehouse import Warehouse


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


def load_closures(
    wh: Warehouse, models: list[str], start: datetime, end: datetime
) -> list[lifecycle.Closure]:
    """Alerts that resolve for a reason other than recovery, in [start, end]: a model's
    baseline moved (its new level is normal now: its anomaly alert resolves at the decided
    hour), or the model was retired (every open alert of it resolves, the one notice)."""
    if not models:
        return []
    p = {"models": list(models), "start": start, "end": end}
    out: list[lifecycle.Closure] = []
    if wh.table_exists("mw_baselines"):
        moved = wh.query(
            "SELECT model_id, decided_hour, since, source, actor, reason FROM mw_baselines "
            "WHERE decided_hour >= :start AND decided_hour <= :end AND model_id IN :models",
            p,
        )
        out += [baseline_closure(r) for r in moved.itertuples(index=False)]
    if wh.table_exists("mw_retirements"):
        gone = wh.query(
            "SELECT model_id, last_seen, hour FROM mw_retirements "
            "WHERE hour >= :start AND hour <= :end AND model_id IN :models",
            p,
        )
        out += [retirement_closure(r) for r in gone.itertuples(index=False)]
    return out


def load_owed(
    wh: Warehouse, owned: list[str], hour: datetime, start: datetime, max_attempts: int
) -> pd.DataFrame:
    """Notifications of earlier hours still owed (failed, or sent but never confirmed)."""
    return wh.query(
        "SELECT * FROM mw_notifications WHERE state IN :owed AND hour >= :start "
        "AND hour < :hour AND model_id IN :models AND attempts < :max",
        {"owed": list(OWED), "start": start, "hour": hour, "models": owned, "max": max_attempts},
    )


def load_inputs(wh: Warehouse, run: Run) -> AlertInputs:
    """Everything the alert stages of `run.hour` start from."""
    settings, hour = run.settings, run.hour
    start = hour - lifecycle.LOOKBACK
    models = alert_models(wh, run)
    # a run over the whole fleet also owns the fleet's alerts and modelwatch's own
    owned = [*models, lifecycle.FLEET_ID, lifecycle.MODELWATCH_ID] if run.full else list(models)
    signals, latest = load_signals(wh, models, start)
    signals, unknown = drop_unknown(wh, settings, signals)
    end = max(hour, latest or hour)
    fleet = load_fleet_signals(wh, start, end, settings)
    labels = table_labels(wh, settings.alerts.labels, models)
    ledger = wh.query(
        "SELECT * FROM mw_notifications WHERE hour = :hour AND model_id IN :models",
        {"hour": hour, "models": owned},
    )
    attempts = settings.alerts.delivery.max_attempts
    return AlertInputs(
        hour=hour,
        start=start,
        end=end,
        models=models,
        owned=owned,
        signals=signals,
        unknown=unknown,
        fleet_signals=fleet,
        closures=load_closures(wh, models, start, end),
        labels=labels,
        rules=alert_settings(settings, models, labels),
        silences=load_silences(wh, start, hour),
        ledger=ledger,
        owed=load_owed(wh, owned, hour, start, attempts) if run.notify else pd.DataFrame(),
    )


def open_or_owed(wh: Warehouse, run: Run) -> bool:
    """Whether the alert step has work beyond new trouble: alerts open at the hour (which
    only a rebuild resolves), or notifications still owed (failed or never confirmed)."""
    alerting = alert_models(wh, run)
    owners = [*alerting, lifecycle.FLEET_ID] if run.full else alerting
    p = {
        "owners": owners,
        "hour": run.hour,
        "start": run.hour - lifecycle.LOOKBACK,
        "owed": list(OWED),
    }
    open_alerts = wh.query(
        "SELECT COUNT(*) AS n FROM mw_alerts WHERE model_id IN :owners "
        "AND opened_hour <= :hour AND (resolved_hour IS NULL OR resolved_hour >= :hour)",
        p,
    )["n"].iloc[0]
    owed = wh.query(
        "SELECT COUNT(*) AS n FROM mw_notifications WHERE state IN :owed "
        "AND hour >= :start AND hour <= :hour AND model_id IN :owners",
        p,
    )["n"].iloc[0]
    return bool(int(open_alerts) or int(owed))


def load_delivery_runs(wh: Warehouse, start: datetime, hour: datetime) -> pd.DataFrame:
    """The receivers' outcomes of the alert runs of [start, hour) (`delivery_health.py`)."""
    return wh.query(
        "SELECT hour, receiver, ok, detail FROM mw_delivery_runs "
        "WHERE hour >= :start AND hour < :hour ORDER BY receiver, hour",
        {"start": start, "hour": hour},
    )


def record_intents(wh: Warehouse, intents: pd.DataFrame) -> None:
    """The `sending` rows, on record before anything leaves: a crash after a send is retried."""
    if len(intents):
        ids = intents["notification_id"].tolist()
        wh.replace("mw_notifications", intents, "notification_id IN :ids", {"ids": ids})


def record_hour(
    wh: Warehouse,
    inputs: AlertInputs,
    alerts: pd.DataFrame,
    notes: pd.DataFrame,
    hints: pd.DataFrame,
    attempts: pd.DataFrame,
    retried: list[str],
    delivery: pd.DataFrame | None = None,
) -> None:
    """The hour's episodes, ledger rows (and the earlier owed ones retried), hints, the
    attempt log and (for a run over the whole fleet) the receivers' outcomes, in one
    transaction."""
    hour, owned = inputs.hour, inputs.owned
    with wh.transaction():
        if delivery is not None and len(delivery):  # the receivers this run tried, only
            where = "hour = :hour AND receiver IN :receivers"
            params = {"hour": hour, "receivers": delivery["receiver"].tolist()}
            wh.replace("mw_delivery_runs", delivery, where, params)
        wh.replace(
            "mw_alerts",
            alerts,
            "model_id IN :models AND opened_hour >= :start",
            {"models": owned, "start": inputs.start},
        )
        wh.replace(
            "mw_notifications",
            notes,
            "(hour = :hour AND model_id IN :models) OR notification_id IN :ids",
            {"hour": hour, "models": owned, "ids": retried},
        )
        wh.replace(  # rebuilt like the alerts: this hour's hints of this run's models
            "mw_hints",
            hints,
            "hour = :hour AND model_id IN :models",
            {"hour": hour, "models": owned},
        )
        if len(attempts):
            ids = attempts["attempt_id"].tolist()
            wh.replace("mw_notification_attempts", attempts, "attempt_id IN :ids", {"ids": ids})
