"""Which models an alert run rebuilds, and which ids it must not page for.

A full run rebuilds the models judged this hour *and every model with an alert still open*:
episodes are only ever resolved by rebuilding them, so a model that stopped being judged (a
decommissioned model, an id named once by hand) would otherwise keep its alert open forever.
A partial run owns exactly the models it names.

An id the warehouse has never seen (no metric row ever, and not in the models table) is almost
always a typo in a manual run's `models` param: its "no data" verdict is not an outage worth a
page. Its outage signals are dropped and the id is reported as unknown (in the step's result,
the hour's alert notes and a warning in the task log), so the operator who named it sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from modelwatch import schema
from modelwatch.alerting import lifecycle
from modelwatch.config import Settings
from modelwatch.run import Run, scope_models
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident


def open_alert_models(wh: Warehouse, hour: datetime) -> list[str]:
    """Models (not the fleet) with an alert opened within the lookback and not resolved by
    the end of `hour`: the ones a full run must rebuild whether judged this hour or not."""
    got = wh.query(
        "SELECT DISTINCT model_id FROM mw_alerts WHERE model_id <> :fleet "
        "AND opened_hour >= :start AND opened_hour <= :hour "
        "AND (resolved_hour IS NULL OR resolved_hour > :hour)",
        {"fleet": lifecycle.FLEET_ID, "start": hour - lifecycle.LOOKBACK, "hour": hour},
    )
    return sorted(got["model_id"].astype(str).tolist())


def alert_models(wh: Warehouse, run: Run) -> list[str]:
    """The models this alert run rebuilds: the selection of a partial run; for a full run,
    those judged this hour plus those with an open alert."""
    judged = scope_models(wh, run)
    if run.models is not None:
        return judged
    return sorted(set(judged) | set(open_alert_models(wh, run.hour)))


def _exists(wh: Warehouse, table: str, column: str, model: str) -> bool:
    found = wh.query(
        f"SELECT 1 AS x FROM {quote_ident(table)} WHERE {quote_ident(column)} = :m LIMIT 1",
        {"m": model},
    )
    return len(found) > 0


def unknown_models(wh: Warehouse, settings: Settings, candidates: Sequence[str]) -> list[str]:
    """The candidates with no metric row ever and no row in the labels (models) table.

    Checked one id at a time with LIMIT 1: only ids with an outage signal are candidates
    (a handful), and a known model stops the scan at its first row. Without a metrics table
    nothing can be told apart, and every id is taken as known (doubt pages, it never hides)."""
    src = settings.source
    if not wh.table_exists(src.table.split(".")[-1]):
        return []
    id_col = src.column(schema.MODEL_ID)
    labels = settings.alerts.labels
    has_labels = bool(labels.table) and wh.table_exists(str(labels.table).split(".")[-1])
    unknown = []
    for m in sorted(set(candidates)):
        if m == lifecycle.FLEET_ID or _exists(wh, src.table, id_col, m):
            continue
        if has_labels and _exists(wh, str(labels.table), labels.id_column, m):
            continue
        unknown.append(m)
    return unknown


def drop_unknown(
    wh: Warehouse, settings: Settings, signals: list[lifecycle.Signal]
) -> tuple[list[lifecycle.Signal], list[str]]:
    """The signals minus the outages of never-seen ids, and those ids."""
    candidates = {s.model_id for s in signals if s.kind == lifecycle.OUTAGE}
    unknown = set(unknown_models(wh, settings, sorted(candidates))) if candidates else set()
    kept = [s for s in signals if not (s.kind == lifecycle.OUTAGE and s.model_id in unknown)]
    return kept, sorted(unknown)
