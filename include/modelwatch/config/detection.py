"""The `detection` section: the per-model Isolation Forest and the streaming scorer."""

from __future__ import annotations

import warnings
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from modelwatch import schema
from modelwatch.config.metrics import MetricsAware


def check_exclude_metrics(names: tuple[str, ...]) -> tuple[str, ...]:
    """Known schema metrics, sorted and without repeats (one spelling, one detector key); at
    least one metric besides `replicas` (a feature only with traffic) must be left to score."""
    unknown = [n for n in names if n not in schema.METRIC_NAMES]
    if unknown:
        known = ", ".join(schema.METRIC_NAMES)
        raise ValueError(f"exclude_metrics: unknown metric(s) {unknown}; known: {known}")
    if set(schema.METRIC_NAMES) - {"replicas"} <= set(names):
        raise ValueError("exclude_metrics leaves no metric to score")
    return tuple(sorted(set(names)))


class DetectionConfig(MetricsAware):
    """The per-model Isolation Forest and its decision (on `metrics`: built-in and declared)."""

    history_days: int = Field(7, ge=1, le=90)
    #: Hours of clean history a model needs before it is scored at all.
    min_history_hours: int = Field(24, ge=1)
    #: A model with less than `min_history_hours` (new, or just re-baselined) is scored from
    #: this many hours of history on, refitted every hour, with a tolerance that starts wide
    #: (x sqrt(min_history_hours / hours)) and narrows as history grows; before: warming up.
    warmup_hours: int = Field(6, ge=1)
    threshold: float = Field(0.95, gt=0.0, lt=1.0)
    #: Metrics the detector leaves out (features, score and explanation); usually set per
    #: model or label in `overrides`.
    exclude_metrics: tuple[str, ...] = ()
    n_estimators: int = Field(100, ge=10, le=1000)
    max_samples: int = Field(256, ge=16)
    #: Training rows are subsampled to at most this many, to bound the cost per model.
    max_train_rows: int = Field(4096, ge=256)
    #: How many metrics an explanation names.
    top_k: int = Field(3, ge=1, le=len(schema.METRICS))
    seed: int = 0
    #: How strongly a feature beyond its training range pushes an hour's row tails towards 1.
    beyond_gain: float = Field(5.0, ge=0.0)
    # --- the per-row stream of replayed series (detection/stream.py; docs/detection.md lists
    # --- where each value comes from and its held-out figures) ---
    #: What scores each row before calibration: the Isolation Forest on the values, or a
    #: robust z of each metric against the training rows (median and MAD); the likelihood,
    #: range breach, decision and dead time are the same for both.
    scorer: Literal["isolation_forest", "zscore"] = "isolation_forest"
    #: The stream's forest: trees, and rows drawn for each. A replay's time is its forests'
    #: fits, about 0.8 ms a tree whatever its rows, so it has fewer trees than the hourly
    #: detector, each drawn from a quarter of the training window: over six seeds on the NAB
    #: folds that scores as 70 trees of 256 rows do, more steadily, in 60 % of the time
    #: (docs/decisions/0002).
    stream_trees: int = Field(40, ge=10, le=1000)
    stream_max_samples: int = Field(512, ge=16)
    #: Rows a series needs before its first fit; then the warm-up doubles.
    stream_min_rows: int = Field(96, ge=16)
    #: Refit at the first hour boundary this many rows after the last fit.
    stream_refit_rows: int = Field(288, ge=1)
    #: The forest learns from the latest this many rows before its fit.
    stream_train_rows: int = Field(2016, ge=64)
    #: Calibration: above this quantile of the training scores the tail is exponential.
    tail_quantile: float = Field(0.9, gt=0.0, lt=1.0)
    #: Numenta's likelihood: the short moving average of the score against the mean and spread
    #: of that average over the last `likelihood_long` rows.
    likelihood_short: int = Field(10, ge=1)
    likelihood_long: int = Field(1000, ge=10)
    #: A value beyond the training range by more than this share of the range scores 1.
    breach_tolerance: float = Field(0.05, ge=0.0)
    #: The stream score at or above which a row raises a detection (`is_anomaly`): 0.5 is
    #: Numenta's red zone, a likelihood tail of 10^-5.
    row_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    #: After a hit, no detection for this many rows; scores are damped meanwhile.
    refractory_rows: int = Field(144, ge=0)
    refractory_damp: float = Field(0.5, ge=0.0, le=1.0)

    @model_validator(mode="before")
    @classmethod
    def _deprecated(cls, data: Any) -> Any:
        """`forest_impl` chose among three forests; scikit-learn's is now the only one. A
        settings file that still names it loads, with a warning, for one release (a
        FutureWarning: the deprecation warning Python shows to users by default)."""
        if isinstance(data, dict) and "forest_impl" in data:
            data = {k: v for k, v in data.items() if k != "forest_impl"}
            warnings.warn(
                "detection.forest_impl is deprecated and ignored: the forest is always "
                "scikit-learn's IsolationForest; remove the setting",
                FutureWarning,
                stacklevel=2,
            )
        return data

    @field_validator("exclude_metrics")
    @classmethod
    def _excluded(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return check_exclude_metrics(v)
