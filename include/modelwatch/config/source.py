"""The `source` and `validation` sections: where metrics are read from, and the gate they pass."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from modelwatch import schema
from modelwatch.config.base import IDENTIFIER, StrictModel
from modelwatch.config.metrics import MetricsAware, MetricSpec, check_unique


class SourceConfig(StrictModel):
    """Where the input metrics live and how their columns are named."""

    table: str = Field(
        "model_metrics",
        description="The warehouse table (`[schema.]table`) holding one row per model and minute.",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Our column name -> the table's, for the ones that differ, e.g. "
        "`{model_id: service_name, ts: minute}`.",
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

    @property
    def all_columns(self) -> tuple[str, ...]:
        """Every column the extract reads: the contract's, then the declared metrics."""
        return (*schema.ALL_COLUMNS, *(m.name for m in self.extra_metrics))

    def column(self, ours: str) -> str:
        """The warehouse's name for one of our columns."""
        return self.columns.get(ours, ours)


class ValidationConfig(MetricsAware):
    """The validation gate's thresholds."""

    min_completeness: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Share of the hour's 60 one-minute rows a model must deliver to be scored.",
    )
    max_staleness_minutes: int = Field(
        15,
        ge=1,
        description="A model's newest row may be at most this many minutes older than the "
        "hour's end.",
    )
    max_bad_row_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of a model's rows that may break a range rule before its hour is "
        "quarantined (0: any such row quarantines it).",
    )
