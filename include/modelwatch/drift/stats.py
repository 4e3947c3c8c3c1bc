"""The drift tests of one sample against one reference sketch: pure functions, no warehouse.

The reference is a sketch (evenly spaced quantiles, or category counts), not raw rows: a
quantile sketch of Q levels is, for these tests, a pseudo-sample of Q equally weighted points
from the reference distribution, so scipy's two-sample KS statistic and Wasserstein distance
apply to it directly (the KS statistic is off by at most 1/(2Q)). The KS p-value uses the real
sample sizes (the asymptotic Kolmogorov distribution), not Q. Every test decides on its effect
size; the KS statistic must also be significant, never significant alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelwatch.config import DriftConfig

PSI, KS, WASSERSTEIN, CRAMERS_V = "psi", "ks", "wasserstein", "cramers_v"
#: An hour of predictions too few of which are usable values (NaN, null, +-inf) to be tested.
NON_FINITE = "non_finite"
#: Tests of the labelled hours (feature `label`): regression error, classifier accuracy.
MAE, ACCURACY = "mae", "accuracy"
#: Added to every bin count: an empty bin is strong evidence, not an infinite PSI.
_SMOOTH = 0.5


@dataclass(frozen=True)
class TestResult:
    """One test's verdict (a row of mw_drift without its keys)."""

    test: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    baseline: float | None = None


def usable(values: NDArray[np.generic], categorical: bool) -> NDArray[np.generic]:
    """The non-null `values` a test can use: every class, or the finite numbers (an infinite
    prediction has no distance to anything: it would make the Wasserstein distance NaN)."""
    if categorical:
        return np.asarray(values)
    x = np.asarray(values, dtype=np.float64)
    return x[np.isfinite(x)]


def unusable_test(n_rows: int, n_usable: int, min_samples: int) -> TestResult:
    """An hour with enough predictions of which too few are usable, reported instead of
    skipped: the statistic is the share that is not (NaN, null, +-inf), flagged above the
    share that leaves fewer than `min_samples` to test. A model whose outputs are all NaN has
    drifted as far as outputs can."""
    share = 1.0 - n_usable / n_rows
    limit = 1.0 - min_samples / n_rows
    return TestResult(NON_FINITE, share, None, limit, share > limit)


def levels(q: int) -> NDArray[np.float64]:
    """The sketch's quantile levels: mid-points, so the quantiles are a fair pseudo-sample."""
    return (np.arange(q) + 0.5) / q


def quantile_sketch(values: NDArray[np.float64], q: int) -> dict[str, object]:
    """The sketch of a continuous sample: Q quantiles, its size, mean and standard deviation."""
    values = np.asarray(values, dtype=np.float64)
    return {
        "q": np.quantile(values, levels(q)).round(10).tolist(),
        "n": int(values.size),
        "mean": float(values.mean()),
        "sd": float(values.std()),
    }


def category_sketch(values: NDArray[np.object_]) -> dict[str, object]:
    """The sketch of a categorical sample: the count of every class."""
    cats, counts = np.unique(np.asarray(values).astype(str), return_counts=True)
    return {"cats": dict(zip(cats.tolist(), counts.astype(int).tolist(), strict=True))}


def psi(current: NDArray[np.float64], reference: NDArray[np.float64]) -> float:
    """Population stability index of two count vectors over the same bins."""
    c = (current + _SMOOTH) / (current.sum() + _SMOOTH * current.size)
    r = (reference + _SMOOTH) / (reference.sum() + _SMOOTH * reference.size)
    return float(np.sum((c - r) * np.log(c / r)))


def _bin_counts(edges: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.int64]:
    """Counts per open interval between edges and per edge value itself: an output that
    piles up on one value (a floor, a default score) is a bin of its own."""
    i = np.searchsorted(edges, x, side="left")
    on_edge = edges[np.minimum(i, edges.size - 1)] == x
    return np.bincount(2 * i + on_edge, minlength=2 * edges.size + 1)


def continuous_tests(
    current: NDArray[np.float64], sketch: dict[str, object], cfg: DriftConfig, sampled: bool = True
) -> list[TestResult]:
    """PSI (on the reference's deciles), the KS statistic and the Wasserstein distance (in
    reference standard deviations) of one hour's values against the reference sketch."""
    from scipy import special, stats  # here, not at the top: see `categorical_tests`

    ref = np.asarray(sketch["q"], dtype=np.float64)
    x = np.sort(np.asarray(current, dtype=np.float64))
    n, m = x.size, int(sketch["n"])  # type: ignore[call-overload]
    # PSI bins: the reference's equal-mass edges (ties collapse, so discrete outputs work too)
    edges = np.unique(np.quantile(ref, np.arange(1, cfg.psi_bins) / cfg.psi_bins))
    r_counts, c_counts = _bin_counts(edges, ref), _bin_counts(edges, x)
    psi_value = psi(c_counts.astype(float), r_counts * (m / ref.size))
    d = float(stats.ks_2samp(x, ref, method="asymp").statistic)
    p = float(special.kolmogorov(math.sqrt(n * m / (n + m)) * d)) if sampled else None
    scale = float(sketch.get("sd") or 0.0) or float(ref[-1] - ref[0]) / 4.0  # type: ignore[operator]
    w = float(stats.wasserstein_distance(x, ref))
    w_norm = w / scale if scale > 0 else (0.0 if w == 0 else math.inf)
    return [
        TestResult(PSI, psi_value, None, cfg.psi_threshold, psi_value >= cfg.psi_threshold),
        TestResult(
            KS, d, p, cfg.ks_threshold, d >= cfg.ks_threshold and (p is None or p < cfg.ks_alpha)
        ),
        TestResult(
            WASSERSTEIN,
            w_norm,
            None,
            cfg.wasserstein_threshold,
            w_norm >= cfg.wasserstein_threshold,
        ),
    ]


def categorical_tests(
    current: NDArray[np.object_], sketch: dict[str, object], cfg: DriftConfig, sampled: bool = True
) -> list[TestResult]:
    """PSI on the class shares, and Cramer's V (effect size) with the chi-square test's
    p-value, of one hour's classes against the reference's counts. A class the reference
    never saw, or one that disappeared, weighs in through the smoothing."""
    # scipy.stats takes about a second to import; only the drift task needs it, and every
    # Airflow task imports this package
    from scipy import stats

    ref_counts: dict[str, int] = dict(sketch["cats"])  # type: ignore[call-overload]
    cats, counts = np.unique(np.asarray(current).astype(str), return_counts=True)
    now = dict(zip(cats.tolist(), counts.tolist(), strict=True))
    names = sorted(set(ref_counts) | set(now))
    c = np.array([now.get(k, 0) for k in names], dtype=np.float64)
    r = np.array([ref_counts.get(k, 0) for k in names], dtype=np.float64)
    psi_value = psi(c, r)
    n = c.sum()
    expected = (r + _SMOOTH) / (r.sum() + _SMOOTH * r.size) * n
    if len(names) > 1:
        chi = stats.chisquare(c, expected)
        v = math.sqrt(float(chi.statistic) / (n * (len(names) - 1)))
        p = float(chi.pvalue) if sampled else None
    else:
        v, p = 0.0, (1.0 if sampled else None)
    return [
        TestResult(PSI, psi_value, None, cfg.psi_threshold, psi_value >= cfg.psi_threshold),
        TestResult(CRAMERS_V, v, p, cfg.cramers_v_threshold, v >= cfg.cramers_v_threshold),
    ]


def error_sketch(predictions: NDArray[np.generic], labels: NDArray[np.generic], cat: bool) -> float:
    """The reference's error (mean absolute error) or accuracy over its labelled rows."""
    if cat:
        return float(np.mean(np.asarray(predictions).astype(str) == np.asarray(labels).astype(str)))
    diff = np.asarray(predictions, dtype=np.float64) - np.asarray(labels, dtype=np.float64)
    return float(np.mean(np.abs(diff)))


def performance_test(value: float, baseline: float, cat: bool, cfg: DriftConfig) -> TestResult:
    """The labelled hour's error next to its reference's: flagged when it worsened by more
    than `error_tolerance` of the reference's (accuracy: of the reference's error rate)."""
    if cat:
        limit = 1.0 - (1.0 - baseline) * (1.0 + cfg.error_tolerance)
        return TestResult(ACCURACY, value, None, limit, value < limit, baseline)
    limit = baseline * (1.0 + cfg.error_tolerance)
    return TestResult(MAE, value, None, limit, value > limit, baseline)
