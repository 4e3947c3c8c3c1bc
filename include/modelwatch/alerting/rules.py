"""Each model's alert rules: the fleet's, or its overrides' (`config/overrides.py`).

Overrides match on model ids or on labels (`labels.override_labels`, the routing labels
table), read only when some override matches on a label: a config without overrides costs no
query.
The detect stage gets its per-model settings through the run's staged overrides, the alert and
remediate steps through `alert_settings`, so both agree on which rule opened an alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelwatch.config import AlertsConfig, Settings, per_model_alerts
from modelwatch.labels import Labels


def alert_settings(
    settings: Settings, models: Sequence[str], labels: Mapping[str, Labels]
) -> dict[str, AlertsConfig]:
    """model -> its alert settings, for the models whose overrides change a rule."""
    if not settings.overrides:
        return {}
    return per_model_alerts(settings.alerts, settings.overrides, models, labels)
