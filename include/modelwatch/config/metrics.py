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
from collections.abc import Iterable, Sequence
from dataclasses import replace
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
    """A settings section that acts on every metric, built-in and declared (see the module),
    and on the fleet's source: which built-ins it reports and how often it samples."""

    _extra_metrics: tuple[MetricSpec, ...] = PrivateAttr(default=())
    #: Built-in metrics the fleet does not report (`source.metrics` leaves them out).
    _absent: frozenset[str] = PrivateAttr(default=frozenset())
    #: The source's sample interval in seconds (`source.interval`).
    _interval_s: int = PrivateAttr(default=60)

    @property
    def extra_metrics(self) -> tuple[MetricSpec, ...]:
        return self._extra_metrics

    @property
    def absent_metrics(self) -> frozenset[str]:
        """The built-in metrics this fleet does not report: neither required nor watched."""
        return self._absent

    @property
    def metrics(self) -> tuple[schema.Metric, ...]:
        """The built-in metrics and the declared ones: every metric column a frame carries.
        A built-in the fleet does not report is marked optional (its column is empty)."""
        return tuple(
            replace(m, optional=True) if m.name in self._absent else m
            for m in metrics_of(self._extra_metrics)
        )

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @property
    def reported_metrics(self) -> tuple[schema.Metric, ...]:
        """The metrics the fleet reports: the built-ins `source.metrics` lists, the declared."""
        return tuple(m for m in metrics_of(self._extra_metrics) if m.name not in self._absent)

    @property
    def interval_seconds(self) -> int:
        return self._interval_s

    @property
    def rows_per_hour(self) -> int:
        """Samples a model delivers in a complete hour, at the source's interval."""
        return 3600 // self._interval_s

    def with_metrics(self, extras: Sequence[MetricSpec]) -> Self:
        """A copy that also acts on `extras` (what the settings do with `source.extra_metrics`;
        tests call it directly)."""
        return self.for_fleet(extras, self._absent, self._interval_s)

    def for_fleet(
        self, extras: Sequence[MetricSpec], absent: Iterable[str], interval_s: int
    ) -> Self:
        """A copy that knows the fleet's source: its declared metrics, the built-ins it does
        not report, its sample interval (what the settings hand each section)."""
        check_unique(extras)
        out = self.model_copy()
        out._extra_metrics = tuple(extras)
        out._absent = frozenset(absent)
        out._interval_s = int(interval_s)
        return out

    def fleet_of(self, other: MetricsAware) -> Self:
        """A copy that knows what `other` knows of the fleet (a section rebuilt from a dump
        loses it: private attributes are not part of one)."""
        return self.for_fleet(other._extra_metrics, other._absent, other._interval_s)
