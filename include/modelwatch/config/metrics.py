"""Custom metrics: numeric columns a team declares in the config (`source.extra_metrics`).

Why here: the nine serving metrics of `schema.METRICS` are fixed in code, but teams watch GPU
utilisation, queue depth, tokens per second. A declared metric is read by the extract, checked by
the gate (not null, in its bounds), becomes a detector feature with its direction, and appears in
explanations, plots and the report, like a built-in one. Its name becomes a column name in SQL,
so it must be a plain identifier, and it may not shadow a built-in or key column.

`MetricsAware` is the base of the sections that act on metrics (`validation`, `detection`): the
declared metrics reach them from `source` once, when the settings are built, so every function
that takes one of those sections sees the same metric list without another argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, Self

from pydantic import Field, PrivateAttr, field_validator, model_validator

from modelwatch import schema
from modelwatch.config.base import IDENTIFIER, StrictModel

#: Which way a metric can go wrong: only a rise counts, only a fall, or both.
Direction = Literal["up", "down", "both"]
#: Names a custom metric may not take: the built-in metrics and the key and version columns.
RESERVED: frozenset[str] = frozenset(c.lower() for c in schema.ALL_COLUMNS)


class MetricSpec(StrictModel):
    """One declared metric: its column, unit, which way is bad, and the range a sane value has."""

    name: str = Field(
        description="The column's name: a plain identifier, not a built-in or key column."
    )
    unit: str = Field("", description="Its unit, shown in explanations, plots and the report.")
    direction: Direction = Field(
        "both",
        description="Which way is bad: `up` counts only rises, `down` only falls, `both` both.",
    )
    min_value: float | None = Field(
        None, description="The lowest sane value (the gate's range rule); null: no bound."
    )
    max_value: float | None = Field(
        None, description="The highest sane value (the gate's range rule); null: no bound."
    )
    description: str = Field("", description="What it measures, for explanations and the report.")
    required: bool = Field(
        False,
        description="Every model must report it. By default a model that never sends it (a "
        "CPU model of a fleet that declares GPU use) is not bad data: a model-hour without any "
        "value of it passes, and a model that does send it must send it on every row.",
    )

    @field_validator("name")
    @classmethod
    def _name_is_safe(cls, v: str) -> str:
        if not IDENTIFIER.match(v) or "." in v:
            raise ValueError(
                f"custom metric name {v!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)"
            )
        if v.lower() in RESERVED:
            raise ValueError(
                f"custom metric {v!r} collides with a built-in column "
                f"({', '.join(schema.ALL_COLUMNS)})"
            )
        return v

    @model_validator(mode="after")
    def _bounds_ordered(self) -> MetricSpec:
        for bound in (self.min_value, self.max_value):
            if bound is not None and not math.isfinite(bound):
                raise ValueError(f"custom metric {self.name!r}: bounds must be finite numbers")
        lo, hi = self.min_value, self.max_value
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(
                f"custom metric {self.name!r}: min_value {lo:g} must be below max_value {hi:g}"
            )
        return self

    def as_metric(self) -> schema.Metric:
        return schema.Metric(
            self.name,
            self.unit,
            self.min_value,
            self.max_value,
            self.description,
            self.direction,
            optional=not self.required,
        )


def check_unique(specs: Sequence[MetricSpec]) -> None:
    """Two declarations of one column (SQL names are case-insensitive) are a config error."""
    seen: set[str] = set()
    for s in specs:
        if s.name.lower() in seen:
            raise ValueError(f"custom metric {s.name!r} is declared twice")
        seen.add(s.name.lower())


def metrics_of(extras: Sequence[MetricSpec]) -> tuple[schema.Metric, ...]:
    """The metrics of a configuration: the built-ins, then the declared ones in their order."""
    return (*schema.METRICS, *(s.as_metric() for s in extras))


class MetricsAware(StrictModel):
    """A settings section that acts on every metric, built-in and declared (see the module)."""

    _extra_metrics: tuple[MetricSpec, ...] = PrivateAttr(default=())

    @property
    def extra_metrics(self) -> tuple[MetricSpec, ...]:
        return self._extra_metrics

    @property
    def metrics(self) -> tuple[schema.Metric, ...]:
        """The built-in metrics and the declared ones."""
        return metrics_of(self._extra_metrics)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    def with_metrics(self, extras: Sequence[MetricSpec]) -> Self:
        """A copy that also acts on `extras` (what the settings do with `source.extra_metrics`;
        tests call it directly)."""
        check_unique(extras)
        out = self.model_copy()
        out._extra_metrics = tuple(extras)
        return out
