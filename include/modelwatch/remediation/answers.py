"""Which alert a remediation request answers: the trail from a page to what was done about it.

The remediate step runs beside the alert step (parallel DAG branches), so it cannot read the
hour's alerts from `mw_alerts`; it replays the same lifecycle rules over the same stored
signals instead. Episode ids are deterministic (model, kind, opening hour), so the id found
here is the one the alert step writes, whichever step runs first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pandas as pd

from modelwatch.alerting import lifecycle
from modelwatch.config import AlertsConfig


def answered_alerts(
    anomalies: pd.DataFrame,
    cfg: AlertsConfig,
    hour: datetime,
    per_model: Mapping[str, AlertsConfig] | None = None,
) -> dict[str, str]:
    """Each model's anomaly alert active at `hour` (models without one are left out), from
    its anomalous hours of the lookback (`anomalies`: `lifecycle.signals_from` rows);
    `per_model`: the rules of models with overrides, as the alert step uses them."""
    if not len(anomalies):
        return {}
    start = hour - lifecycle.LOOKBACK
    signals = lifecycle.signals_from(anomalies)
    episodes = lifecycle.build_episodes(signals, start, hour, cfg, per_model=per_model)
    return {e.model_id: e.alert_id for e in episodes if e.active_at(hour)}
