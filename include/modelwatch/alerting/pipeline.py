"""The alert stages, each small and pure, in the order an hour's alerts pass through them:

    signals -> episodes -> hints -> dress -> mute (inhibit, silence, windows) -> route
    -> plan (dedup against the ledger) -> [send with retries] -> record

the way Alertmanager's notify pipeline is built: a new concern is a new stage, not a branch
inside one function. Reading and writing the warehouse is `tables.py`'s; sending is
`delivery.py`'s; `step.py` runs the stages in order. Everything is decided from the stored facts
of the hour, so a rerun decides the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from modelwatch.alerting import lifecycle, routing
from modelwatch.alerting.delivery import DeliveryResult, RetryPolicy
from modelwatch.alerting.hinting import with_hints
from modelwatch.alerting.ledger import (
    FAILED,
    SENDING,
    SENT,
    SUPPRESSED,
    Plan,
    event_key,
    notification_id,
    plan_delivery,
)
from modelwatch.alerting.silences import Silence
from modelwatch.config import AlertsConfig
from modelwatch.labels import Labels
from modelwatch.links import view_incident_url, view_report_url
from modelwatch.logs.masking import mask_secrets
from modelwatch.untrusted import strip_control

Event = lifecycle.AlertEvent


@dataclass(frozen=True)
class AlertInputs:
    """What one hour's alert stages start from."""

    hour: datetime
    start: datetime  # the lookback's first hour: episodes are rebuilt from here
    end: datetime  # the latest hour processed (later than `hour` on a rerun of an old hour)
    models: list[str]  # the models this run rebuilds
    owned: list[str]  # ... and the fleet's id, when the run owns the fleet
    signals: list[lifecycle.Signal]  # the models' trouble (minus the outages of unknown ids)
    unknown: list[str]  # ids never seen in the warehouse (not paged)
    fleet_signals: list[lifecycle.Signal]
    closures: list[lifecycle.Closure]
    labels: dict[str, Labels]
    rules: dict[str, AlertsConfig]  # per-model alert rules (overrides)
    silences: list[Silence]
    ledger: pd.DataFrame  # this hour's notification rows of the owned models
    owed: pd.DataFrame  # earlier hours' notifications still owed (only when notifying)


@dataclass(frozen=True)
class Episodes:
    """The hour's episodes: the run's own (`mine`, written), the context that mutes events
    (`context`), and the events due at the hour."""

    signals: list[lifecycle.Signal]  # every signal the episodes were built from
    mine: list[lifecycle.Episode]
    context: list[lifecycle.Episode]
    tiers: dict[str, str]
    events: list[Event]


def without_fleet_outage_hours(
    signals: list[lifecycle.Signal], fleet: list[lifecycle.Signal]
) -> list[lifecycle.Signal]:
    """A model's "no data" in an hour when no model reported at all is the fleet's outage, not
    its own: one alert for the ingestion problem, not one per model."""
    gone = {s.hour for s in fleet if s.kind == lifecycle.OUTAGE}
    return [s for s in signals if not (s.kind == lifecycle.OUTAGE and s.hour in gone)]


def episodes(inputs: AlertInputs, cfg: AlertsConfig, full: bool) -> Episodes:
    """Signals -> episodes (with closures and per-model rules) -> the events due at the hour.
    Only a run over the whole fleet owns the fleet's episodes."""
    signals = without_fleet_outage_hours(inputs.signals, inputs.fleet_signals)
    fleet = lifecycle.build_episodes(inputs.fleet_signals, inputs.start, inputs.end, cfg)
    own = lifecycle.build_episodes(
        signals, inputs.start, inputs.end, cfg, inputs.closures, inputs.rules
    )
    mine = own + (fleet if full else [])
    tiers = {m: lab["tier"] for m, lab in inputs.labels.items() if "tier" in lab}
    events = lifecycle.events_at(mine, inputs.hour, cfg, tiers)
    return Episodes(signals + inputs.fleet_signals, mine, own + fleet, tiers, events)


def retries(
    owed: pd.DataFrame, eps: Episodes, cfg: AlertsConfig
) -> tuple[list[Event], dict[str, set[str]]]:
    """The events of earlier hours' notifications still owed (rebuilt from the episodes), and
    the receivers that still need each."""
    receivers_of: dict[str, set[str]] = {}
    events: list[Event] = []
    for h, rows in owed.groupby("hour") if len(owed) else ():
        hour = pd.Timestamp(h).to_pydatetime()
        for e in lifecycle.events_at(eps.mine, hour, cfg, eps.tiers):
            receivers = {
                r.receiver
                for r in rows.itertuples(index=False)
                if r.notification_id == notification_id(e, r.receiver)
            }
            if receivers:
                receivers_of[event_key(e)] = receivers
                events.append(e)
    return events, receivers_of


#: What each enrichment gives an alert, for the note saying it is missing this hour.
UNAVAILABLE = {"logs": "log hints", "drift": "drift findings", "hints": "hints"}


def one_line(text: str, limit: int = 200) -> str:
    """Why something failed, safe to show and store: secrets masked, control characters
    dropped, one line, at most `limit` characters."""
    return strip_control(mask_secrets(text))[:limit]


def unavailable(failures: Mapping[str, str]) -> tuple[str, ...]:
    """One note per failed enrichment, for every alert's hints section: what is missing, and
    why (the reasons come one line long, masked)."""
    return tuple(
        f"{UNAVAILABLE.get(name, name)} unavailable: {why}"
        for name, why in sorted(failures.items())
    )


def dress(
    events: Sequence[Event],
    hints: pd.DataFrame,
    labels: Mapping[str, Labels],
    cfg: AlertsConfig,
    run_id: str,
    notes: tuple[str, ...] = (),
) -> list[Event]:
    """Each event with its top hints (then `notes`: what enrichment is missing this hour), its
    labels, its runbook and the view's links."""
    return [
        routing.replace_links(
            routing.enrich(
                with_hints(e, hints, notes), routing.event_labels(e, labels), cfg, run_id
            ),
            {
                "report_url": view_report_url(cfg.airflow_url, e.hour),
                "incident_url": view_incident_url(cfg.airflow_url, e.alert_id),
            },
        )
        for e in events
    ]


def mute(
    events: Sequence[Event], inputs: AlertInputs, eps: Episodes, cfg: AlertsConfig
) -> dict[str, str]:
    """Event key -> why it is held back (inhibited, silenced, in a maintenance window,
    grouped into a fleet incident); events not held are absent."""
    held: dict[str, str] = {}
    for e in events:
        reason = routing.suppression(e, e.labels, eps.context, inputs.silences, cfg)
        if reason is not None:
            held[event_key(e)] = reason
    return held


def route(
    events: Sequence[Event],
    owed: Mapping[str, set[str]],
    hour: datetime,
    cfg: AlertsConfig,
    usable: Callable[[list[str]], list[str]],
) -> dict[str, list[str]]:
    """Event key -> its receivers: an owed notification of an earlier hour goes to the
    receivers that still need it; the others by the route tree (`usable` drops optional
    channels that cannot be used here)."""
    out: dict[str, list[str]] = {}
    for e in events:
        key = event_key(e)
        if key in owed and e.hour != hour:
            out[key] = sorted(owed[key])
        else:
            out[key] = usable(routing.receivers_for(e.labels, cfg))
    return out


def with_plots(
    events: Sequence[Event],
    routes: Mapping[str, list[str]],
    held: Mapping[str, str],
    ledger: pd.DataFrame,
    draw: Callable[[Event], dict[str, str]],
) -> list[Event]:
    """Each event that will be sent to someone, with its plot's links (`draw`); events that
    are held, fleet-wide or already sent to every receiver go without."""
    sent = set(ledger.loc[ledger["state"] == SENT, "notification_id"]) if len(ledger) else set()
    out = []
    for e in events:
        due = any(notification_id(e, r) not in sent for r in routes[event_key(e)])
        if due and event_key(e) not in held and e.kind != lifecycle.FLEET:
            e = routing.replace_links(e, draw(e))
        out.append(e)
    return out


def plan(
    events: Sequence[Event],
    ledger: pd.DataFrame,
    notify: bool,
    backfill: bool,
    routes: Mapping[str, list[str]],
    held: Mapping[str, str],
    policy: RetryPolicy,
) -> Plan:
    """Each notification decided against the ledger: sent before (kept), held (suppressed,
    with why), not this run's to send (recorded as what would have been sent), or due."""
    why = "backfill: recorded, would have notified" if backfill else "notify is off for this run"
    return plan_delivery(
        events,
        [],
        ledger,
        notify,
        why,
        route=lambda e: routes[event_key(e)],
        held=held,
        max_attempts=policy.max_attempts,
    )


def notes(result: DeliveryResult, owed_rows: pd.DataFrame) -> pd.DataFrame:
    """The ledger rows to record: the sends' outcome, and every owed notification whose event
    this rerun no longer produces (it stays owed)."""
    out = result.ledger
    if len(owed_rows):
        kept = owed_rows[~owed_rows["notification_id"].isin(out["notification_id"])]
        if len(kept):
            out = pd.concat([out, kept[out.columns]], ignore_index=True)
    return out


def outcome(
    eps: Episodes, recorded: pd.DataFrame, retried: int, attempts: int, unknown: list[str]
) -> dict[str, object]:
    """The alert step's result: events, notifications by state, retries, unknown ids."""
    states = recorded["state"].value_counts().to_dict() if len(recorded) else {}
    counts = {
        e: sum(1 for ev in eps.events if ev.event == e)
        for e in (lifecycle.FIRING, lifecycle.RESOLVED)
    }
    return {
        "events": len(eps.events),
        **counts,
        "notifications": len(recorded),
        "sent": int(states.get(SENT, 0)),
        "failed": int(states.get(FAILED, 0)),
        "suppressed": int(states.get(SUPPRESSED, 0)),
        "unconfirmed": int(states.get(SENDING, 0)),
        "retried": retried,
        "attempts": attempts,
        "unknown_models": unknown,
    }
