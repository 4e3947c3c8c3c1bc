"""The `drift` section: where prediction samples live, the reference and the thresholds.

Drift is off (the step records nothing and skips) while the predictions table does not exist,
so a deployment that exports no predictions needs no setting at all. Thresholds are on effect
sizes, never on p-values alone: a thousand samples against a week of reference drive every
p-value to zero while the distribution barely moved (see docs/drift.md for the figures).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelwatch.config.base import IDENTIFIER, StrictModel

#: Our names for the predictions table's columns; `source`-style mapping onto the warehouse's.
PREDICTION_COLUMNS = ("ts", "model_id", "prediction", "label")


class PinnedReference(StrictModel):
    """A fixed reference window for one model (e.g. the validation week of its release)."""

    start: datetime = Field(description="The reference window's start (UTC).")
    end: datetime = Field(description="The reference window's end (UTC), after `start`.")

    @model_validator(mode="after")
    def _ordered(self) -> PinnedReference:
        if self.end <= self.start:
            raise ValueError(f"pinned reference ends ({self.end}) before it starts")
        return self


class DriftConfig(StrictModel):
    """Prediction (and feature) drift against a reference, per model and hour."""

    enabled: bool = Field(
        True,
        description="Test each model's predictions for drift. Drift is also off while the "
        "predictions table does not exist.",
    )
    table: str = Field(
        "model_predictions",
        description="The warehouse table (`[schema.]table`) of prediction samples.",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Our column name -> the table's, for the ones that differ (`ts`, "
        "`model_id`, `prediction`, `label`).",
    )
    features: tuple[str, ...] = Field(
        (),
        description="Feature columns of the table to test like the prediction (input drift).",
    )
    format: Literal["samples", "quantiles"] = Field(
        "samples",
        description="`samples`: one row per (sampled) prediction. `quantiles`: per-minute "
        "quantiles at evenly spaced levels, one row per level (p-values are then left out: "
        "the rows are no sample).",
    )
    output: Literal["continuous", "categorical"] = Field(
        "continuous",
        description="The models' outputs: `continuous` (PSI, KS, Wasserstein) or "
        "`categorical`, for classifiers (PSI, Cramer's V).",
    )
    categorical_models: tuple[str, ...] = Field(
        (),
        description="Model ids whose outputs are categorical while `output` is continuous.",
    )
    # --- reference ---
    reference_days: int = Field(
        7,
        ge=1,
        le=60,
        description="The default reference: the model's last this many clean days (drifted "
        "or anomalous hours left out), matched on hour of day, summarised once a day.",
    )
    pinned: dict[str, PinnedReference] = Field(
        default_factory=dict,
        description="Model id -> a fixed reference window instead of the trailing days "
        "(e.g. the validation week of its release).",
    )
    sketch_quantiles: int = Field(
        200,
        ge=20,
        le=2000,
        description="Quantiles kept per model and hour of day: the reference sketch the tests "
        "compare with.",
    )
    min_samples: int = Field(
        100,
        ge=10,
        description="A model's hour with fewer samples than this (of the prediction or a "
        "feature) is not tested: too few to judge.",
    )
    min_reference: int = Field(
        300,
        ge=20,
        description="A reference holding fewer samples than this is not compared with.",
    )
    # --- thresholds (effect sizes) ---
    psi_bins: int = Field(
        10, ge=4, le=50, description="Bins of the population stability index (PSI)."
    )
    psi_threshold: float = Field(0.2, gt=0.0, description="A PSI at or above this counts as drift.")
    wasserstein_threshold: float = Field(
        0.25,
        gt=0.0,
        description="Wasserstein distance divided by the reference's standard deviation at "
        "or above which it counts as drift.",
    )
    ks_threshold: float = Field(
        0.15,
        gt=0.0,
        le=1.0,
        description="The KS statistic (largest CDF gap) at or above which it counts, when its "
        "p-value is also below `ks_alpha`.",
    )
    ks_alpha: float = Field(
        0.001,
        gt=0.0,
        lt=1.0,
        description="The KS test's p-value must be below this for its statistic to count.",
    )
    cramers_v_threshold: float = Field(
        0.1,
        gt=0.0,
        le=1.0,
        description="Categorical outputs: Cramer's V at or above which it counts as drift.",
    )
    error_tolerance: float = Field(
        0.25,
        gt=0.0,
        description="Labelled hours: flagged when the error grows (accuracy falls) by this "
        "share of the reference's.",
    )
    label_delay_hours: int = Field(
        0,
        ge=0,
        le=24 * 14,
        description="Labels arrive late: each run also rescores the labelled hour this many "
        "hours back (0: labels arrive with the predictions).",
    )

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        if not IDENTIFIER.match(v):
            raise ValueError(f"drift.table {v!r} is not a plain [schema.]table identifier")
        return v

    @field_validator("columns")
    @classmethod
    def _columns(cls, v: dict[str, str]) -> dict[str, str]:
        for ours, theirs in v.items():
            if ours not in PREDICTION_COLUMNS:
                raise ValueError(f"drift.columns: {ours!r} is not one of {PREDICTION_COLUMNS}")
            if not IDENTIFIER.match(theirs) or "." in theirs:
                raise ValueError(f"drift.columns.{ours} = {theirs!r} is not a plain identifier")
        return v

    @field_validator("features")
    @classmethod
    def _features(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not IDENTIFIER.match(name) or "." in name or name in PREDICTION_COLUMNS:
                raise ValueError(f"drift.features: {name!r} is not a plain feature column")
        return v

    def column(self, ours: str) -> str:
        return self.columns.get(ours, ours)

    def is_categorical(self, model_id: str) -> bool:
        return self.output == "categorical" or model_id in self.categorical_models
