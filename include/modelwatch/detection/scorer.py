"""What gives a row its raw score before calibration: the Isolation Forest or a robust z.

Why a choice: the forest is the design's detector, and the robust z (each metric's distance from
the training rows' median, in robust standard deviations) the seed's other one; past the raw
score both go through the same calibration, likelihood, range breach, decision and dead time
(`detection.scorer`), so a what-if run or `bench/bench_nab.py` compares them on equal terms.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from modelwatch.config import DetectionConfig
from modelwatch.detection.forest import fit_forest
from modelwatch.detection.medians import column_medians


class Scorer(Protocol):
    """A fitted raw scorer: higher is more anomalous."""

    def raw(self, x: np.ndarray) -> np.ndarray: ...


def robust_center_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column: median and a floored MAD scale (1 % of the median, or 1e-9: a metric that
    never moved in training is infinitely far from usual as soon as it moves)."""
    center = column_medians(x)
    mad = 1.4826 * column_medians(np.abs(x - center))
    return center, np.maximum.reduce([mad, 0.01 * np.abs(center), np.full_like(center, 1e-9)])


class RobustZ:
    """Per row: the largest |x - median| / MAD scale over the metrics, against training rows."""

    #: Refitting is a median: cheap enough for every refresh of the stream.
    cheap = True

    def __init__(self, train: np.ndarray) -> None:
        self.center, self.scale = robust_center_scale(np.asarray(train, dtype=float))

    def raw(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        with np.errstate(over="ignore", invalid="ignore"):  # 1e300 against a tiny scale: inf
            z = np.abs((np.asarray(x, dtype=float) - self.center) / self.scale)
        return np.nan_to_num(z, nan=0.0).max(axis=1)


def fit_scorer(
    x: np.ndarray,
    cfg: DetectionConfig,
    seed: int,
    trees: int | None = None,
    samples: int | None = None,
) -> Scorer:
    """The raw scorer of `cfg.scorer`, fitted on the training rows `x` (a forest of `trees`
    trees of `samples` rows, by default `cfg.n_estimators` and `cfg.max_samples`)."""
    if cfg.scorer == "zscore":
        return RobustZ(x)
    return fit_forest(x, cfg, seed, trees, samples)
