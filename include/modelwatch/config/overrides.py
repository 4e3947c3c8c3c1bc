"""The `overrides` section: detection and alert settings for some models, chosen by model id or
by label (team, tier, owner).

Why a list of entries rather than a map per model: a team or a tier is the unit people reason
in ("tier-3 models may wait 3 hours before paging"), and one model of it may still need its own
setting. Each entry says what it matches and which settings it changes; everything it does not
name stays the fleet default.

Precedence (`applicable`): entries that match on `model_id` beat entries that match on labels
only; among equals, the later entry in the file wins. Entries merge field by field, so a team
entry's threshold and a model entry's rule both apply. `exclude_metrics` is replaced, not
added to, so a model entry can give back a metric its team left out (`[]`).

Resolution is pure (`detection_for`, `alerts_for`): the same settings, model and labels always
give the same effective settings, so reruns agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import Field, field_validator, model_validator

from modelwatch.config.alerts import AlertRule, AlertsConfig, LabelsConfig
from modelwatch.config.base import StrictModel
from modelwatch.config.detection import DetectionConfig, check_exclude_metrics

#: What an override can match on: the model's id and its labels (`alerts.labels`).
MATCH_LABELS = ("model_id", "team", "tier", "owner")
#: The alert kinds with a rule of their own in `alerts` (the fleet incident has none).
RULE_KINDS = ("anomaly", "outage", "data_quality", "drift")


class RuleOverride(StrictModel):
    """An alert rule's replacement: `n` and `m` together (so two entries never combine into
    n > m), `recovery_hours` on its own."""

    n: int | None = Field(
        None, ge=1, description="Open when the signal held in `n` of the last `m` hours."
    )
    m: int | None = Field(None, ge=1, description="The window `n` counts in; given with `n`.")
    recovery_hours: int | None = Field(
        None, ge=1, description="Resolve after this many consecutive hours without the signal."
    )

    @model_validator(mode="after")
    def _pair(self) -> RuleOverride:
        if (self.n is None) != (self.m is None):
            raise ValueError("give n and m together (n of the last m hours)")
        if self.n is not None and self.m is not None and self.n > self.m:
            raise ValueError(f"alert rule needs n <= m, got n={self.n}, m={self.m}")
        return self

    def over(self, rule: AlertRule) -> AlertRule:
        return rule.model_copy(update=self.model_dump(exclude_none=True))


class DetectionOverride(StrictModel):
    """The detection settings an entry may change (see `DetectionConfig` for each)."""

    threshold: float | None = Field(
        None, gt=0.0, lt=1.0, description="`detection.threshold` for these models."
    )
    min_history_hours: int | None = Field(
        None, ge=1, description="`detection.min_history_hours` for these models."
    )
    exclude_metrics: tuple[str, ...] | None = Field(
        None,
        description="`detection.exclude_metrics` for these models: replaced, not added to "
        "(`[]` gives back what a team entry left out).",
    )

    @field_validator("exclude_metrics")
    @classmethod
    def _metrics(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if v is None else check_exclude_metrics(v)


class AlertsOverride(StrictModel):
    """Per alert kind, the rule that opens and resolves the model's alerts."""

    anomaly: RuleOverride | None = Field(None, description="The anomaly alerts' rule.")
    outage: RuleOverride | None = Field(None, description="The outage alerts' rule.")
    data_quality: RuleOverride | None = Field(None, description="The data-quality alerts' rule.")
    drift: RuleOverride | None = Field(None, description="The drift alerts' rule.")


class Override(StrictModel):
    """Settings for the models that carry every `match` entry (model id and/or labels)."""

    name: str = Field("", description="A name for logs and docs; optional.")
    match: dict[str, str] = Field(
        description="What the entry applies to: `model_id` and/or labels (`team`, `tier`, "
        "`owner`, read through `alerts.labels`); a model must carry every one."
    )
    detection: DetectionOverride = Field(
        DetectionOverride(), description="The detection settings the entry changes."
    )
    alerts: AlertsOverride = Field(
        AlertsOverride(), description="Per alert kind, the rule the entry changes."
    )

    @field_validator("match")
    @classmethod
    def _match(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("match is empty: name a model_id or a label (team, tier, owner)")
        for key in v:
            if key not in MATCH_LABELS:
                raise ValueError(f"cannot match on {key!r}; use {', '.join(MATCH_LABELS)}")
        return v

    @model_validator(mode="after")
    def _changes_something(self) -> Override:
        if not self.detection.model_dump(exclude_none=True) and not any(
            self.alerts.model_dump(exclude_none=True).values()
        ):
            raise ValueError("sets nothing: give detection or alerts settings")
        return self

    @property
    def by_model(self) -> bool:
        return "model_id" in self.match

    def matches(self, model_id: str, labels: Mapping[str, str]) -> bool:
        have = {**labels, "model_id": model_id}
        return all(have.get(k) == v for k, v in self.match.items())


def check_label_source(overrides: Sequence[Override], labels: LabelsConfig) -> None:
    """An entry matching a label that `alerts.labels` does not read would never apply: say
    so at load time, naming the entry."""
    for i, o in enumerate(overrides):
        for key in set(o.match) - {"model_id"}:
            if not labels.table or key not in labels.columns:
                raise ValueError(
                    f"overrides[{i}].match.{key}: alerts.labels does not read {key!r} "
                    "(set alerts.labels.table and columns), so this entry would never apply"
                )


def needs_labels(overrides: Iterable[Override]) -> bool:
    """Whether any entry matches on a label (then the labels table must be read)."""
    return any(set(o.match) - {"model_id"} for o in overrides)


def applicable(
    overrides: Sequence[Override], model_id: str, labels: Mapping[str, str]
) -> list[Override]:
    """The entries that apply to the model, weakest first: label entries, then model-id
    entries, each in file order (a later entry overrides an earlier one field by field)."""
    hits = [(o.by_model, i, o) for i, o in enumerate(overrides) if o.matches(model_id, labels)]
    return [o for _, _, o in sorted(hits, key=lambda t: (t[0], t[1]))]


def detection_changes(
    overrides: Sequence[Override], model_id: str, labels: Mapping[str, str]
) -> dict[str, Any]:
    """The detection fields the model's entries change, merged (JSON-safe; empty: none)."""
    out: dict[str, Any] = {}
    for o in applicable(overrides, model_id, labels):
        out.update(o.detection.model_dump(exclude_none=True))
    if "exclude_metrics" in out:
        out["exclude_metrics"] = list(out["exclude_metrics"])
    return out


def with_detection_changes(fleet: DetectionConfig, changes: Mapping[str, Any]) -> DetectionConfig:
    """The fleet's detection settings with one model's changes (`detection_changes`) in, and
    the fleet's declared metrics (not part of a dump: `MetricsAware`)."""
    if not changes:
        return fleet
    out = DetectionConfig.model_validate({**fleet.model_dump(), **changes})
    return out.with_metrics(fleet.extra_metrics)


def detection_for(
    fleet: DetectionConfig,
    overrides: Sequence[Override],
    model_id: str,
    labels: Mapping[str, str],
) -> DetectionConfig:
    """The model's effective detection settings."""
    return with_detection_changes(fleet, detection_changes(overrides, model_id, labels))


def alerts_for(
    fleet: AlertsConfig,
    overrides: Sequence[Override],
    model_id: str,
    labels: Mapping[str, str],
) -> AlertsConfig:
    """The model's effective alert settings: the fleet's, with its entries' rules in."""
    rules: dict[str, AlertRule] = {}
    for o in applicable(overrides, model_id, labels):
        for kind in RULE_KINDS:
            change: RuleOverride | None = getattr(o.alerts, kind)
            if change is not None:
                rules[kind] = change.over(rules.get(kind, getattr(fleet, kind)))
    return fleet.model_copy(update=rules) if rules else fleet


def per_model_detection(
    overrides: Sequence[Override],
    models: Iterable[str],
    labels: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, Any]]:
    """model -> its detection changes, for the models that have any (JSON-safe, for staging)."""
    out = {}
    for m in models:
        changes = detection_changes(overrides, m, labels.get(m, {}))
        if changes:
            out[m] = changes
    return out


def per_model_alerts(
    fleet: AlertsConfig,
    overrides: Sequence[Override],
    models: Iterable[str],
    labels: Mapping[str, Mapping[str, str]],
) -> dict[str, AlertsConfig]:
    """model -> its alert settings, for the models whose rules differ from the fleet's."""
    out = {}
    for m in models:
        cfg = alerts_for(fleet, overrides, m, labels.get(m, {}))
        if cfg is not fleet:
            out[m] = cfg
    return out
