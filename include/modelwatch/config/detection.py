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

    history_days: int = Field(
        7,
        ge=1,
        le=90,
        description="Days of history before each day that the model's detector for the day "
        "is trained on.",
    )
    min_history_hours: int = Field(
        24,
        ge=1,
        description="Hours of clean history a model needs before it is scored with a day's "
        "detector; with less it is warming up (see `warmup_hours`).",
    )
    warmup_hours: int = Field(
        6,
        ge=1,
        description="A model with less than `min_history_hours` (new, or just re-baselined) is "
        "scored from this many hours of history on, refitted every hour, with a tolerance that "
        "starts wide (x sqrt(min_history_hours / hours)) and narrows as history grows; before "
        "that it is `warming_up`.",
    )
    threshold: float = Field(
        0.95,
        gt=0.0,
        lt=1.0,
        description="An hour whose score is at or above this is anomalous (`is_anomaly`).",
    )
    exclude_metrics: tuple[str, ...] = Field(
        (),
        description="Metrics the detector leaves out (features, score and explanation); "
        "usually set per model or label in `overrides`.",
    )
    n_estimators: int = Field(
        100, ge=10, le=1000, description="Trees in each model's Isolation Forest."
    )
    max_samples: int = Field(
        256,
        ge=16,
        description="Rows each tree is grown on (the forest's subsample size; the depth limit "
        "is log2 of it).",
    )
    max_train_rows: int = Field(
        4096,
        ge=256,
        description="Training rows are subsampled to at most this many, to bound the cost per "
        "model.",
    )
    top_k: int = Field(
        3,
        ge=1,
        le=len(schema.METRICS),
        description="How many metrics an explanation names (the largest deviations first).",
    )
    seed: int = Field(
        0, description="Seed of the forests' random choices: the same data, the same scores."
    )
    beyond_gain: float = Field(
        5.0,
        ge=0.0,
        description="How strongly a feature beyond its training range pushes an hour's row "
        "tails towards 1 (x its distance, counted in training ranges).",
    )
    scorer: Literal["isolation_forest", "zscore"] = Field(
        "isolation_forest",
        description="What scores each row before calibration: `isolation_forest` (the "
        "forest on the features or values) or `zscore` (a robust z of each against the "
        "training rows' median and MAD, the largest per row); calibration, decision and, for "
        "replayed series, likelihood, range breach and dead time are the same for both.",
    )
    # --- the per-row stream of replayed series (detection/stream.py; docs/detection.md lists
    # --- where each value comes from and its held-out figures) ---
    stream_trees: int = Field(
        40,
        ge=10,
        le=1000,
        description="Replayed series: trees in the forest. A replay's time is its forests' "
        "fits, about 0.8 ms a tree whatever its rows (docs/decisions).",
    )
    stream_max_samples: int = Field(
        512,
        ge=16,
        description="Replayed series: rows each tree is grown on, a quarter of the training "
        "window; with few trees, larger subsamples keep the scores steady between seeds.",
    )
    stream_min_rows: int = Field(
        96,
        ge=16,
        description="Replayed series: rows a series needs before its first refresh (its "
        "first score); then the warm-up doubles.",
    )
    stream_refit_rows: int = Field(
        288,
        ge=1,
        description="Replayed series: refresh the calibration, likelihood and training range "
        "at the first hour boundary this many rows after the last refresh (the forest is "
        "refitted once the rows it learnt from have all been replaced).",
    )
    stream_train_rows: int = Field(
        2016,
        ge=64,
        description="Replayed series: each refresh (and the forest) learns from the latest "
        "this many rows before it.",
    )
    tail_quantile: float = Field(
        0.9,
        gt=0.0,
        lt=1.0,
        description="Replayed series' calibration: above this quantile of the training scores "
        "the tail is exponential.",
    )
    likelihood_short: int = Field(
        10,
        ge=1,
        description="Replayed series: rows in the short moving average of the score that "
        "Numenta's anomaly likelihood judges.",
    )
    likelihood_long: int = Field(
        1000,
        ge=10,
        description="Replayed series: rows over which the likelihood learns the mean and "
        "spread of that moving average.",
    )
    breach_tolerance: float = Field(
        0.05,
        ge=0.0,
        description="Replayed series: a value beyond the training range by more than this "
        "share of the range scores 1.",
    )
    row_threshold: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description="Replayed series: the score at or above which a row raises a detection "
        "(`is_anomaly`); 0.5 is Numenta's red zone, a likelihood tail of 10^-5.",
    )
    refractory_rows: int = Field(
        144,
        ge=0,
        description="Replayed series: after a hit, no detection for this many rows.",
    )
    refractory_damp: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Replayed series: the share of its score a row keeps during the "
        "refractory rows (capped below `row_threshold`); a row that fires scores 1.",
    )

    @model_validator(mode="before")
    @classmethod
    def _deprecated(cls, data: Any) -> Any:
        """`forest_impl` is a retired key (it chose among forests; scikit-learn's is the only
        one, decision 0006). A settings file that still names it loads, with a warning, for one
        release (a FutureWarning: the deprecation warning Python shows to users by default)."""
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
