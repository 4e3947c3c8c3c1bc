"""The `detection` section: the per-model Isolation Forest and the streaming scorer."""

from __future__ import annotations

from pydantic import Field

from modelwatch import schema
from modelwatch.config.base import StrictModel


class DetectionConfig(StrictModel):
    """The per-model Isolation Forest and its decision."""

    history_days: int = Field(7, ge=1, le=90)
    #: Hours of clean history a model needs before it is scored at all.
    min_history_hours: int = Field(24, ge=1)
    threshold: float = Field(0.95, gt=0.0, lt=1.0)
    n_estimators: int = Field(100, ge=10, le=1000)
    max_samples: int = Field(256, ge=16)
    #: Training rows are subsampled to at most this many, to bound the cost per model.
    max_train_rows: int = Field(4096, ge=256)
    #: Generic series: the latest training rows whose scores calibrate the forest's tails.
    calibration_rows: int = Field(4096, ge=256)
    #: How many metrics an explanation names.
    top_k: int = Field(3, ge=1, le=len(schema.METRICS))
    seed: int = 0
    # --- streaming detection (replay and the per-row score stream) ---
    #: A cached forest is refitted once it is this many hours old ...
    refit_hours: float = Field(24.0, gt=0.0)
    #: ... and at least this many rows have arrived since (a day of five-minute rows): the
    #: cost of a replay then follows its rows, not its span.
    refit_rows: int = Field(288, ge=1)
    #: ... or once the usable history has grown by this factor since the fit (cold start).
    refit_growth: float = Field(1.5, gt=1.0)
    #: Rows a series needs before it is scored at all (besides `min_history_hours` of span).
    min_train_rows: int = Field(200, ge=16)
    #: Who grows the forests: "numpy" (fast, the default) or "sklearn" (the reference).
    forest_impl: str = Field("numpy", pattern="^(numpy|sklearn)$")
    #: How strongly a value beyond the training range pushes a row's tail towards 1.
    beyond_gain: float = Field(5.0, ge=0.0)
    #: Days of history before generic series get same-time-yesterday features (0 = never).
    seasonal_days: float = Field(3.0, ge=0.0)
    #: Rows whose surprise is pooled into the "recent scores" tail probability.
    stream_rows: int = Field(24, ge=1)
    #: A row's own tail counts in the stream only this many decades (log10) beyond the
    #: pooled tail's: lone extreme rows still fire, lone odd rows on spiky series do not.
    single_row_margin: float = Field(4.0, ge=0.0)
    #: The stream score at or above which a row raises a detection (`is_anomaly`).
    row_threshold: float = Field(0.38, gt=0.0, lt=1.0)
    #: After a detection, no new one for this many rows (12 hours of five-minute rows);
    #: scores are damped meanwhile. Rows, not hours: a series' statistics are per row.
    refractory_rows: int = Field(144, ge=0)
    refractory_damp: float = Field(0.5, ge=0.0, le=1.0)
    #: Anomalous rows are left out of later fits unless they are more than this share of the
    #: training window (then they are the new normal).
    max_excluded_share: float = Field(0.1, ge=0.0, le=1.0)
