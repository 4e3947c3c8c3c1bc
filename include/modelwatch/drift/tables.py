"""The drift stage's load and save: the hour's predictions and references in, `mw_drift` out.

Reads the hour's predictions once (one query) and the hour of day's reference sketches
(cached, see reference.py), hands them to the calculator (`calculator.findings`), and replaces
the rows the run owns: a full run the whole hour, a partial one its models.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch.config import DriftConfig
from modelwatch.drift.calculator import DriftHour, empty_frame, findings
from modelwatch.drift.reference import load_references
from modelwatch.drift.source import LABEL, predictions_available, read_predictions, tested_columns
from modelwatch.run import HOUR
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)


def _hour_findings(
    wh: Warehouse,
    cfg: DriftConfig,
    hour: datetime,
    models: Sequence[str] | None,
    features: list[str],
    labels: bool,
    distributions: bool,
) -> tuple[pd.DataFrame, list[str]]:
    rows = read_predictions(wh, cfg, hour, hour + HOUR, models, features, labels)
    if not distributions:
        rows = rows[rows[LABEL].notna()] if labels else rows.iloc[:0]
    present = sorted(rows["model_id"].unique().tolist())
    if not present:
        return empty_frame(), []
    sketches = load_references(wh, cfg, hour, present, features, labels)
    return findings(hour, rows, sketches, features, cfg, distributions), present


def drift_hour(
    wh: Warehouse, cfg: DriftConfig, hour: datetime, models: Sequence[str] | None
) -> DriftHour:
    """The hour's findings for `models` (None: every model with predictions in the hour)."""
    if not predictions_available(wh, cfg):
        return DriftHour(empty_frame(), skipped=f"no predictions table {cfg.table!r}")
    features, labels = tested_columns(wh, cfg)
    frame, present = _hour_findings(wh, cfg, hour, models, features, labels, True)
    out = DriftHour(frame, models=present)
    if labels and cfg.label_delay_hours:
        late_hour = hour - timedelta(hours=cfg.label_delay_hours)
        late, _ = _hour_findings(wh, cfg, late_hour, models, features, labels, False)
        out.late, out.late_hour = late, late_hour
    return out


def write_drift_hour(
    wh: Warehouse, cfg: DriftConfig, hour: datetime, models: Sequence[str] | None, full: bool
) -> dict[str, Any]:
    """Find the hour's drift of `models` and replace the rows the run owns (`full`: the whole
    hour; else its models), and the late-labelled hour's error rows; a no-op without a
    predictions table."""
    found = drift_hour(wh, cfg, hour, models)
    if found.skipped:
        log.info("drift off for %s: %s", hour, found.skipped)
        return {"skipped": found.skipped, "tested": 0, "drifted": []}
    owned = list(models) if models is not None else found.models
    with wh.transaction():
        if full:
            where, params = "hour = :hour", {"hour": hour}
        else:
            where, params = "hour = :hour AND model_id IN :models", {"hour": hour, "models": owned}
        wh.replace("mw_drift", found.frame, where, params)
        if found.late is not None:  # late labels: that hour's error rows only
            where = "hour = :hour AND model_id IN :models AND feature = 'label'"
            late_params = {"hour": found.late_hour, "models": owned}
            wh.replace("mw_drift", found.late, where, late_params)
    log.info("drift for %s: %d models tested, drifted: %s", hour, len(owned), found.drifted)
    return {"skipped": None, "tested": len(found.models), "drifted": found.drifted}
