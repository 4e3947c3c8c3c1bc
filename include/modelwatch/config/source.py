"""The `source` and `validation` sections: where metrics are read from, and the gate they pass.

A source is where a fleet's metrics live, apart from the warehouse where modelwatch writes what
it finds: a SQL table (`kind: sql`, read through the connection's Airflow hook, or natively when
it is the warehouse itself) or a Prometheus server (`kind: prometheus`, one PromQL query per
metric). Every key is optional: the defaults read `model_metrics` from the warehouse, one row
per model per minute, all nine built-in metrics. docs/data.md documents each key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelwatch import schema
from modelwatch.config.base import IDENTIFIER, StrictModel
from modelwatch.config.metrics import MetricsAware, MetricSpec, check_unique

#: The sample intervals a source may have, in seconds: each divides an hour, so every sample
#: belongs to exactly one hour and an hour holds a whole number of them.
INTERVALS: dict[str, int] = {
    "15s": 15,
    "30s": 30,
    "1m": 60,
    "5m": 300,
    "10m": 600,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
}
DEFAULT_INTERVAL = "1m"
#: The Airflow connection of a Prometheus source when `conn_id` is not given.
PROMETHEUS_CONN_ID = "modelwatch_prometheus"
#: A Prometheus label name (the model label).
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _unless(default: object) -> Callable[[object], bool]:
    """Leave a field out of the settings' dump (and so of their fingerprint) while it holds
    its default: the demo's stored fingerprints do not move when a key is added."""
    return lambda v: v == default


class SourceConfig(StrictModel):
    """Where the input metrics live, how often they are sampled, and how they are named."""

    kind: Literal["sql", "prometheus"] = Field(
        "sql",
        exclude_if=_unless("sql"),
        description="`sql`: a table of rows (one per model and interval); `prometheus`: one "
        "PromQL query per metric (`queries`).",
    )
    conn_id: str | None = Field(
        None,
        exclude_if=_unless(None),
        description="The Airflow connection the metrics are read from (nothing is ever "
        "written to it). Default: the warehouse's for `sql`, `modelwatch_prometheus` for "
        "`prometheus`.",
    )
    interval: str = Field(
        DEFAULT_INTERVAL,
        exclude_if=_unless(DEFAULT_INTERVAL),
        description="The source's sample interval: `15s`, `30s`, `1m`, `5m`, `10m`, `15m`, "
        "`30m` or `1h`. Completeness, staleness, the detector's history and the plots count "
        "in it.",
    )
    metrics: tuple[str, ...] = Field(
        schema.METRIC_NAMES,
        exclude_if=_unless(schema.METRIC_NAMES),
        description="The built-in metrics this fleet reports (default: all nine). One left "
        "out is neither required nor watched; custom metrics go in `extra_metrics`.",
    )
    table: str = Field(
        "model_metrics",
        description="`sql`: the table (`[schema.]table`) holding one row per model and interval.",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="`sql`: our column name -> the table's, for the ones that differ, e.g. "
        "`{model_id: service_name, ts: minute}`.",
    )
    model_label: str = Field(
        "model",
        exclude_if=_unless("model"),
        description="`prometheus`: the label whose value is the model id.",
    )
    queries: dict[str, str] = Field(
        default_factory=dict,
        exclude_if=_unless({}),
        description="`prometheus`: metric (built-in or declared) -> PromQL giving one series "
        "per model, labelled `model_label`.",
    )
    landing_deadline_minutes: int = Field(
        30,
        ge=0,
        le=24 * 60,
        description="A scheduled run waits for the hour's rows until this many minutes after "
        "the hour's end, then goes on; models still missing are judged `no_data`.",
    )
    # Left out of the settings' fingerprint while empty, so declaring none changes nothing
    # that is stored.
    extra_metrics: tuple[MetricSpec, ...] = Field(
        (),
        exclude_if=lambda v: not v,
        description="Custom numeric metrics beyond the nine built-ins: each is read, gated, "
        "scored and explained like them (docs/data.md#custom-metrics).",
    )

    @field_validator("table")
    @classmethod
    def _table_is_identifier(cls, v: str) -> str:
        if not IDENTIFIER.match(v):
            raise ValueError(f"source.table {v!r} is not a plain [schema.]table identifier")
        return v

    @field_validator("conn_id")
    @classmethod
    def _conn_id(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,250}", v):
            raise ValueError(f"source.conn_id {v!r} is not an Airflow connection id")
        return v

    @field_validator("interval")
    @classmethod
    def _interval_known(cls, v: str) -> str:
        if v not in INTERVALS:
            raise ValueError(f"source.interval {v!r} is not one of {', '.join(INTERVALS)}")
        return v

    @field_validator("metrics")
    @classmethod
    def _metrics_known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [m for m in v if m not in schema.METRIC_NAMES]
        if unknown:
            raise ValueError(
                f"source.metrics: {', '.join(map(repr, unknown))} is not a built-in metric "
                f"({', '.join(schema.METRIC_NAMES)}); declare others in source.extra_metrics"
            )
        if len(set(v)) != len(v):
            raise ValueError("source.metrics names a metric twice")
        return tuple(m for m in schema.METRIC_NAMES if m in v)  # one order, one fingerprint

    @field_validator("model_label")
    @classmethod
    def _label_name(cls, v: str) -> str:
        if not LABEL_NAME.match(v):
            raise ValueError(f"source.model_label {v!r} is not a Prometheus label name")
        return v

    @field_validator("extra_metrics")
    @classmethod
    def _extras_unique(cls, v: tuple[MetricSpec, ...]) -> tuple[MetricSpec, ...]:
        check_unique(v)
        return v

    @model_validator(mode="after")
    def _columns_known(self) -> SourceConfig:
        known = self.all_columns
        for ours, theirs in self.columns.items():
            if ours not in known:
                raise ValueError(
                    f"source.columns maps unknown column {ours!r}; known: {', '.join(known)}"
                )
            if not IDENTIFIER.match(theirs) or "." in theirs:
                raise ValueError(f"source.columns.{ours} = {theirs!r} is not a plain identifier")
        return self

    @model_validator(mode="after")
    def _kind_fits(self) -> SourceConfig:
        """Each kind's own keys, and what a fleet must report to be scored at all."""
        if not set(self.metrics) - {"replicas"} and not self.extra_metrics:
            raise ValueError("source.metrics must list a metric besides replicas to score")
        if self.kind == "sql" and self.queries:
            raise ValueError("source.queries is for kind: prometheus (this source is sql)")
        if self.kind == "prometheus":
            if self.columns:
                raise ValueError("source.columns is for kind: sql (this source is prometheus)")
            declared = {m.name for m in self.extra_metrics}
            for name in self.queries:
                if name not in schema.METRIC_NAMES and name not in declared:
                    raise ValueError(
                        f"source.queries.{name}: {name!r} is neither a built-in metric nor "
                        "declared in source.extra_metrics"
                    )
            required = [*self.metrics, *(m.name for m in self.extra_metrics if m.required)]
            missing = [m for m in required if m not in self.queries]
            if missing:
                raise ValueError(
                    f"source.queries has no query for {', '.join(missing)} "
                    "(each metric in source.metrics needs one; or leave it out of the list)"
                )
            for name, q in self.queries.items():
                if not str(q).strip():
                    raise ValueError(f"source.queries.{name} is empty")
        return self

    @property
    def all_columns(self) -> tuple[str, ...]:
        """Every column the extract reads: the contract's, then the declared metrics."""
        return (*schema.ALL_COLUMNS, *(m.name for m in self.extra_metrics))

    @property
    def absent(self) -> tuple[str, ...]:
        """The built-in metrics this fleet does not report."""
        return tuple(m for m in schema.METRIC_NAMES if m not in self.metrics)

    @property
    def interval_seconds(self) -> int:
        return INTERVALS[self.interval]

    @property
    def connection_id(self) -> str | None:
        """The source's connection id; None: the warehouse's own (a `sql` source's default)."""
        if self.conn_id:
            return self.conn_id
        return PROMETHEUS_CONN_ID if self.kind == "prometheus" else None

    def identity(self) -> str:
        """What the data behind this source's detectors depends on besides the connection:
        its table (or queries) and interval. The default source's stays its table name."""
        if self.kind == "prometheus":
            queries = ";".join(f"{k}={v}" for k, v in sorted(self.queries.items()))
            ident = f"prometheus:{self.model_label}:{queries}"
        else:
            ident = self.table
        return ident if self.interval == DEFAULT_INTERVAL else f"{ident}@{self.interval}"

    def column(self, ours: str) -> str:
        """The warehouse's name for one of our columns."""
        return self.columns.get(ours, ours)


class ValidationConfig(MetricsAware):
    """The validation gate's thresholds."""

    min_completeness: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Share of the hour's expected samples (60 one-minute rows, or one per "
        "`source.interval`) a model must deliver to be scored.",
    )
    max_staleness_minutes: int = Field(
        15,
        ge=1,
        description="A model's newest row may be at most this many minutes older than the "
        "hour's end; never less than one `source.interval` (a five-minute source's newest "
        "sample is five minutes old).",
    )
    max_bad_row_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of a model's rows that may break a range rule before its hour is "
        "quarantined (0: any such row quarantines it).",
    )

    @property
    def staleness_minutes(self) -> float:
        """The staleness bound in effect: the setting, or one interval if that is longer."""
        return max(float(self.max_staleness_minutes), self.interval_seconds / 60.0)
