"""The `source` and `validation` sections: where metrics are read from, and the gate they pass."""

from __future__ import annotations

from pydantic import Field, field_validator

from modelwatch import schema
from modelwatch.config.base import IDENTIFIER, StrictModel


class SourceConfig(StrictModel):
    """Where the input metrics live and how their columns are named."""

    table: str = "model_metrics"
    #: Map of our column name -> the warehouse's column name, for the ones that differ.
    columns: dict[str, str] = Field(default_factory=dict)
    #: A scheduled run waits for the hour's rows until this many minutes after the hour's end,
    #: then goes on; models still missing are judged no_data (see ingest/landing.py).
    landing_deadline_minutes: int = Field(30, ge=0, le=24 * 60)

    @field_validator("table")
    @classmethod
    def _table_is_identifier(cls, v: str) -> str:
        if not IDENTIFIER.match(v):
            raise ValueError(f"source.table {v!r} is not a plain [schema.]table identifier")
        return v

    @field_validator("columns")
    @classmethod
    def _columns_known(cls, v: dict[str, str]) -> dict[str, str]:
        for ours, theirs in v.items():
            if ours not in schema.ALL_COLUMNS:
                raise ValueError(
                    f"source.columns maps unknown column {ours!r}; "
                    f"known: {', '.join(schema.ALL_COLUMNS)}"
                )
            if not IDENTIFIER.match(theirs) or "." in theirs:
                raise ValueError(f"source.columns.{ours} = {theirs!r} is not a plain identifier")
        return v

    def column(self, ours: str) -> str:
        """The warehouse's name for one of our columns."""
        return self.columns.get(ours, ours)


class ValidationConfig(StrictModel):
    """The validation gate's thresholds."""

    #: Share of the hour's expected one-minute rows a model must deliver to be scored.
    min_completeness: float = Field(0.8, ge=0.0, le=1.0)
    #: The model's newest row may be at most this many minutes older than the hour's end.
    max_staleness_minutes: int = Field(15, ge=1)
    #: Share of a model's rows that may break a range rule before it is quarantined.
    max_bad_row_share: float = Field(0.0, ge=0.0, le=1.0)
