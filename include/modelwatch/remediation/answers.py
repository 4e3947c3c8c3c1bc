"""Which alert a remediation request answers: the trail from a page to what was done about it.

The remediate step runs beside the alert step (parallel DAG branches), so it cannot read the
hour's alerts from `mw_alerts`; it replays the same lifecycle rules over the same stored
signals instead. Episode ids are deterministic (model, kind, opening hour), so the id found
here is the one the alert step writes, whichever step runs first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from modelwatch.alerting import lifecycle
from modelwatch.config import AlertsConfig
from modelwatch.warehouse import Warehouse


def answered_alerts(
    wh: Warehouse,
    cfg: AlertsConfig,
    models: list[str],
    hour: datetime,
    per_model: Mapping[str, AlertsConfig] | None = None,
) -> dict[str, str]:
    """Each model's anomaly alert active at `hour` (models without one are left out);
    `per_model`: the rules of models with overrides, as the alert step uses them."""
    if not models:
        return {}
    start = hour - lifecycle.LOOKBACK
    frame = wh.query(
        "SELECT model_id, hour, 'anomaly' AS kind, score, explanation AS detail FROM mw_scores "
        "WHERE is_anomaly "
        "AND hour >= :start AND hour <= :hour AND model_id IN :models",
        {"start": start, "hour": hour, "models": sorted(set(models))},
    )
    signals = lifecycle.signals_from(frame)
    episodes = lifecycle.build_episodes(signals, start, hour, cfg, per_model=per_model)
    return {e.model_id: e.alert_id for e in episodes if e.active_at(hour)}
