"""The alert step: the alert stages (`pipeline.py`) run in order over the hour's stored facts.

Three phases, so the embedded warehouse is never held while a slow channel times out: read
(the facts, hints, plots of what will be sent) ending with the ledger's `sending` rows for what
is about to go out; deliver (no warehouse open); write (episodes, confirmed ledger rows, hints,
attempt log, in one transaction).

Everything decided here is recomputed from stored facts each run, so reruns in any order give
the same rows. Delivery is at least once with a stable idempotency key per notification (see
`modelwatch.alerting.delivery`): a confirmed send is never repeated, an unconfirmed one is
repeated under the same key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from modelwatch.alerting import delivery_health, lifecycle, pipeline, routing, tables
from modelwatch.alerting.channels import available_receivers, notifier_factory
from modelwatch.alerting.delivery import DeliveryResult, RetryPolicy, send_planned
from modelwatch.alerting.hinting import live_refs
from modelwatch.alerting.ledger import Plan, event_key, intent_rows
from modelwatch.alerting.notes import write_alert_notes
from modelwatch.alerting.plots import plot_alert
from modelwatch.config import AlertsConfig
from modelwatch.hints.build import build_hints
from modelwatch.hints.model import frame as no_hints
from modelwatch.hints.tables import load_facts
from modelwatch.ingest.connect import open_source
from modelwatch.ingest.source import MetricsSource
from modelwatch.links import plot_name
from modelwatch.run import Run
from modelwatch.storage import StorePath, describe, is_local
from modelwatch.warehouse import Warehouse, open_warehouse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """What the read phase decided: the inputs, episodes, hints, the events and the plan."""

    inputs: pipeline.AlertInputs
    eps: pipeline.Episodes
    hints: pd.DataFrame
    events: list[lifecycle.AlertEvent]
    plan: Plan
    policy: RetryPolicy
    retried: int  # earlier hours' events still owed, retried now


class DeliveryFailed(RuntimeError):
    """Every receiver the run had notifications for failed: nobody was told. The alert step
    fails (after recording everything), so Airflow's failure callbacks and the UI show it;
    `outcome` is what the step would have returned."""

    def __init__(self, message: str, outcome: dict[str, Any]) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class Health:
    """modelwatch's own alerts: each receiver's outcome this run, the `delivery_failure`
    episodes, and what their events' delivery gave."""

    runs: pd.DataFrame | None  # this run's outcomes (None: a partial run does not own them)
    episodes: list[lifecycle.Episode]
    result: DeliveryResult | None


def alert_hour(
    run: Run,
    failures: Mapping[str, str] | None = None,
    notifier_for: Callable[[str], Any] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Rebuild the alert episodes of this run's models and deliver what is due.
    `failures`: enrichment -> why it failed this hour (shown with each alert's hints)."""
    cfg = run.settings.alerts
    failures = dict(failures or {})
    notifier = notifier_for or notifier_factory(cfg)
    pause = {"sleep": sleep} if sleep is not None else {}
    with (
        open_warehouse(run.warehouse) as wh,
        open_source(run.source, run.settings, wh) as source,
    ):
        ready = prepare(wh, source, run, failures)
        tables.record_intents(wh, intent_rows(ready.plan))
    result = send_planned(ready.plan, notifier, ready.policy, **pause)
    runs = delivery_health.outcomes(ready.plan, result, run.hour)
    health = check_delivery(
        run, ready, runs, lambda plan: send_planned(plan, notifier, ready.policy, **pause)
    )
    recorded = pipeline.notes(result, ready.inputs.owed)
    attempts = result.attempts
    if health.result is not None:
        recorded = pd.concat([recorded, health.result.ledger], ignore_index=True)
        attempts = pd.concat([attempts, health.result.attempts], ignore_index=True)
    retried = ready.inputs.owed["notification_id"].tolist() if len(ready.inputs.owed) else []
    alerts = lifecycle.episodes_frame(ready.eps.mine + health.episodes, cfg, ready.eps.tiers)
    with open_warehouse(run.warehouse) as wh:
        tables.record_hour(
            wh, ready.inputs, alerts, recorded, ready.hints, attempts, retried, health.runs
        )
    if ready.events or ready.inputs.unknown:
        try:
            folder = run.folders.report(run.hour)
            write_alert_notes(folder, run, recorded, ready.events, ready.inputs.unknown)
        except OSError:
            log.warning("could not write the alert notes of %s", run.hour, exc_info=True)
    out = pipeline.outcome(ready.eps, recorded, ready.retried, len(attempts), ready.inputs.unknown)
    out = {**out, "hints_failure": failures.get("hints")}
    nobody = delivery_health.every_receiver_failed(runs)
    if nobody:
        raise DeliveryFailed(f"every receiver failed, nobody was notified: {nobody}", out)
    return out


def check_delivery(
    run: Run, ready: Prepared, runs: pd.DataFrame, send: Callable[[Plan], DeliveryResult]
) -> Health:
    """The receivers' outcomes of this run, the `delivery_failure` episodes they make with
    the earlier runs', and their events sent to the other receivers and the log. Only a run
    over the whole fleet owns modelwatch's own alerts."""
    if not run.full:
        return Health(None, [], None)
    cfg, hour = run.settings.alerts, run.hour
    mine = runs if run.notify else None  # a run that sends nothing has no outcome
    with open_warehouse(run.warehouse) as wh:
        history = tables.load_delivery_runs(wh, ready.inputs.start, hour)
        now = history if mine is None else pd.concat([history, mine], ignore_index=True)
        episodes = delivery_health.episodes(now)
        events = lifecycle.events_at(episodes, hour, cfg)
        if not events:
            return Health(mine, episodes, None)
        events = pipeline.dress(events, no_hints([]), {}, cfg, run.run_id)
        routes = {
            event_key(e): others(cfg, e, delivery_health.failing_receiver(e.detail)) for e in events
        }
        ledger = ready.inputs.ledger
        own = ledger[ledger["model_id"] == lifecycle.MODELWATCH_ID] if len(ledger) else ledger
        plan = pipeline.plan(
            events, own, run.notify, run.mode.is_backfill, routes, {}, ready.policy
        )
        tables.record_intents(wh, intent_rows(plan))
    return Health(mine, episodes, send(plan))


def others(cfg: AlertsConfig, e: lifecycle.AlertEvent, failing: str) -> list[str]:
    """Who hears that `failing` keeps failing: the event's receivers but that one, and the
    log always (it cannot fail)."""
    routed = available_receivers(cfg, routing.receivers_for(e.labels, cfg))
    return sorted({r for r in routed if r != failing} | {delivery_health.LOG})


def prepare(wh: Warehouse, source: MetricsSource, run: Run, failures: dict[str, str]) -> Prepared:
    """The read phase: the stages up to the plan, over the hour's stored facts (and the
    metrics source, for the unknown-id filter, deploys and plots)."""
    cfg, hour = run.settings.alerts, run.hour
    inputs = tables.load_inputs(wh, source, run)
    if inputs.unknown:
        log.warning("unknown model ids, not alerted on: %s", ", ".join(inputs.unknown))
    eps = pipeline.episodes(inputs, cfg, run.full)
    hints = find_hints(wh, source, run, eps, failures)
    retry, owed = pipeline.retries(inputs.owed, eps, cfg) if run.notify else ([], {})
    ledger = inputs.ledger  # modelwatch's own notifications are planned by check_delivery
    if len(ledger):
        ledger = ledger[ledger["model_id"] != lifecycle.MODELWATCH_ID]
    if len(inputs.owed):
        ledger = pd.concat([ledger, inputs.owed], ignore_index=True)
    notes = pipeline.unavailable(failures)
    events = pipeline.dress([*retry, *eps.events], hints, inputs.labels, cfg, run.run_id, notes)
    held = pipeline.mute(events, inputs, eps, cfg)
    routes = pipeline.route(events, owed, hour, cfg, lambda r: available_receivers(cfg, r))
    if run.notify and cfg.plots:
        folder = run.folders.report(hour)
        draw = lambda e: draw_plot(wh, source, run, e, folder)  # noqa: E731
        events = pipeline.with_plots(events, routes, held, ledger, draw)
    policy = RetryPolicy(cfg.delivery.retries, cfg.delivery.backoff_s, cfg.delivery.max_attempts)
    backfill = run.mode.is_backfill
    plan = pipeline.plan(events, ledger, run.notify, backfill, routes, held, policy)
    return Prepared(inputs, eps, hints, events, plan, policy, len(retry))


def find_hints(
    wh: Warehouse,
    source: MetricsSource,
    run: Run,
    eps: pipeline.Episodes,
    failures: dict[str, str],
) -> pd.DataFrame:
    """The hints of every alert open (or opening) at the hour. Hints never hold an alert back:
    if finding them fails, the alerts go out without them, and the failure is recorded."""
    refs = live_refs(eps.mine, eps.signals, run.hour)
    if not run.settings.hints.enabled or not refs:
        return no_hints([])
    try:
        facts = load_facts(wh, source, run.settings, refs, run.hour)
        return build_hints(facts, run.settings, refs, run.hour)
    except Exception as exc:
        log.warning(
            "could not find hints for %s; alerts go out without them", run.hour, exc_info=True
        )
        failures["hints"] = pipeline.one_line(f"{type(exc).__name__}: {exc}")
        return no_hints([])


def draw_plot(
    wh: Warehouse, source: MetricsSource, run: Run, e: lifecycle.AlertEvent, folder: StorePath
) -> dict[str, str]:
    """The alert's plot (drawn once per alert and hour); a failure only costs the picture."""
    path = folder / plot_name(e.alert_id)
    try:
        if not path.exists() and plot_alert(wh, source, run.settings, e, path) is None:
            return {}
    except Exception:
        log.warning("could not draw the plot of %s", e.alert_id, exc_info=True)
        return {}
    base = run.settings.alerts.report_url
    if base:
        url = f"{base.rstrip('/')}/{folder.name}/{path.name}"
    else:  # a store's file has no address a reader can open: its URL names it
        url = path.as_uri() if is_local(path) else describe(path)
    return {"plot_path": str(path), "plot_url": url}
