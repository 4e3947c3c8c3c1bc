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

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> PinnedReference:
        if self.end <= self.start:
            raise ValueError(f"pinned reference ends ({self.end}) before it starts")
        return self


class DriftConfig(StrictModel):
    """Prediction (and feature) drift against a reference, per model and hour."""

    enabled: bool = True
    table: str = "model_predictions"
    #: Our column name -> the table's, for the ones that differ (ts, model_id, prediction, label).
    columns: dict[str, str] = Field(default_factory=dict)
    #: Feature columns of the table to test like the prediction (input drift).
    features: tuple[str, ...] = ()
    #: `samples`: one row per (sampled) prediction. `quantiles`: per-minute quantiles at evenly
    #: spaced levels, one row per level (p-values are then left out: the rows are no sample).
    format: Literal["samples", "quantiles"] = "samples"
    #: continuous outputs: PSI, KS, Wasserstein; categorical (classifiers): PSI, Cramer's V.
    output: Literal["continuous", "categorical"] = "continuous"
    categorical_models: tuple[str, ...] = ()
    # --- reference ---
    #: The default reference: the model's last clean days (drifted or anomalous hours left
    #: out), matched on hour of day, summarised once a day into cached sketches.
    reference_days: int = Field(7, ge=1, le=60)
    pinned: dict[str, PinnedReference] = Field(default_factory=dict)
    #: Quantiles kept per (model, hour of day): the sketch the tests compare with.
    sketch_quantiles: int = Field(200, ge=20, le=2000)
    min_samples: int = Field(100, ge=10)
    min_reference: int = Field(300, ge=20)
    # --- thresholds (effect sizes) ---
    psi_bins: int = Field(10, ge=4, le=50)
    psi_threshold: float = Field(0.2, gt=0.0)
    #: Wasserstein distance divided by the reference's standard deviation.
    wasserstein_threshold: float = Field(0.25, gt=0.0)
    #: The KS statistic (largest CDF gap) counts only when its p-value is also below ks_alpha.
    ks_threshold: float = Field(0.15, gt=0.0, le=1.0)
    ks_alpha: float = Field(0.001, gt=0.0, lt=1.0)
    cramers_v_threshold: float = Field(0.1, gt=0.0, le=1.0)
    #: Labelled hours: flagged when the error grows (accuracy falls) by this share of the
    #: reference's.
    error_tolerance: float = Field(0.25, gt=0.0)
    #: Labels arrive late: each run also rescores the labelled hour this many hours back.
    label_delay_hours: int = Field(0, ge=0, le=24 * 14)

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
