"""The labels overrides match on, and each model's alert rules under them.

Labels come from the same table routing reads (`routing.load_labels`), read only when some
override matches on a label: a config without overrides costs no query. The detect stage gets
its per-model settings through the pipeline (staged at extract), the alert and remediate steps
through `alert_settings`, so both agree on which rule opened an alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelwatch.alerting.routing import Labels, load_labels
from modelwatch.config import AlertsConfig, Settings, needs_labels, per_model_alerts
from modelwatch.warehouse import Warehouse


def override_labels(wh: Warehouse, settings: Settings, models: Sequence[str]) -> dict[str, Labels]:
    """Each model's labels, when an override needs them; else none (no query)."""
    if not needs_labels(settings.overrides):
        return {}
    return load_labels(wh, settings.alerts, models)


def alert_settings(
    settings: Settings, models: Sequence[str], labels: Mapping[str, Labels]
) -> dict[str, AlertsConfig]:
    """model -> its alert settings, for the models whose overrides change a rule."""
    if not settings.overrides:
        return {}
    return per_model_alerts(settings.alerts, settings.overrides, models, labels)
