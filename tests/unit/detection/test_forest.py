"""The forest (scikit-learn's, packed for scoring), the robust z, and the calibration's tail."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from modelwatch.config import DetectionConfig
from modelwatch.detection import forest as forest_module
from modelwatch.detection.detector import empirical_log_tail
from modelwatch.detection.forest import (
    PackedForest,
    StepForest,
    as_tree_input,
    fit_forest,
    grow_trees,
)
from modelwatch.detection.scorer import RobustZ, fit_scorer


def _blob(n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[:, 2] = np.where(rng.random(n) < 0.9, 0.0, x[:, 2])  # mostly constant feature
    x[:10] += 8.0  # ten clear outliers
    return x


def _sklearn(x: np.ndarray, trees: int = 100, samples: int = 256, seed: int = 3):
    from sklearn.ensemble import IsolationForest

    return IsolationForest(n_estimators=trees, max_samples=samples, random_state=seed).fit(x)


#: One-column inputs where sklearn's float32 view matters: plain noise, a few repeated values,
#: zeros with spikes (two values only), byte counts near 1e8 (float32 keeps ~7 digits).
ONE_COLUMN = {
    "normal": np.random.default_rng(0).normal(size=2016),
    "discrete": np.round(np.random.default_rng(1).normal(size=2016) * 3),
    "spikes": np.where(np.arange(2016) % 50 == 0, 20.0, 0.0),
    "bytes": 1e8 + np.random.default_rng(2).normal(0, 30, 2016),
}


def test_packed_forest_scores_exactly_like_sklearn() -> None:
    x = _blob()
    x[:, 1] = 1e8 + x[:, 1] * 10  # a column whose float32 view differs from the float64
    forest = _sklearn(x, trees=30, samples=128)
    packed = PackedForest.from_sklearn(forest)
    np.testing.assert_allclose(packed.raw(x), -forest.score_samples(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ONE_COLUMN))
def test_step_forest_scores_exactly_like_sklearn(name: str) -> None:
    """On one column the forest is a step function of the value: looked up, not walked."""
    v = ONE_COLUMN[name]
    forest = _sklearn(v[:, None])
    step = StepForest.from_sklearn(forest)
    rng = np.random.default_rng(9)
    edges = step.edges[rng.integers(0, len(step.edges), 300)]
    probe = np.r_[
        v,
        edges,  # exactly on a threshold: goes left, as in sklearn
        np.nextafter(edges, np.inf),
        v.min() - np.abs(v).max() - 1.0,
        v.max() + np.abs(v).max() + 1.0,
        1e300,  # beyond float32: clipped, as sklearn cannot take it
        -1e300,
    ]
    expected = -forest.score_samples(as_tree_input(probe[:, None]))
    np.testing.assert_allclose(step.raw(probe[:, None]), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "rows", "trees", "samples", "seed"),
    [
        ("blob", 2000, 100, 256, 3),
        ("blob", 300, 20, 64, 0),
        ("blob", 200, 10, 200, 11),  # every row in every tree
        ("normal", 2016, 50, 256, 7),
        ("discrete", 2016, 30, 256, 1),
        ("spikes", 2016, 30, 128, 2),
    ],
)
def test_grown_trees_are_the_ones_isolation_forest_grows(name, rows, trees, samples, seed):
    """The bagging is ours, the trees sklearn's: node for node the same trees as
    `IsolationForest.fit` with the same seed, so every score is sklearn's."""
    x = _blob(rows) if name == "blob" else ONE_COLUMN[name][:rows, None]
    x = as_tree_input(x)
    expected = [e.tree_ for e in _sklearn(x, trees=trees, samples=samples, seed=seed).estimators_]
    got = grow_trees(x, trees, samples, seed)
    assert len(got) == len(expected) == trees
    for ours, theirs in zip(got, expected, strict=True):
        for field in ("children_left", "children_right", "feature", "threshold", "n_node_samples"):
            np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field))


def test_fit_forest_falls_back_to_isolation_forest_when_the_tree_api_fails(monkeypatch) -> None:
    """sklearn's tree builder is private API: if an upgrade breaks the call, the forest is
    grown by `IsolationForest` itself, with the same scores."""
    x = _blob(500)
    cfg = DetectionConfig(n_estimators=20, max_samples=64)
    expected = fit_forest(x, cfg, seed=5).raw(x)

    def broken(*args, **kwargs):
        raise TypeError("__cinit__() takes exactly 7 positional arguments")

    monkeypatch.setattr(forest_module, "_grow", broken)
    np.testing.assert_array_equal(fit_forest(x, cfg, seed=5).raw(x), expected)
    assert forest_module._grow is forest_module._sklearn_trees  # once, not per fit


def test_fit_forest_packs_one_column_as_steps_and_more_as_trees() -> None:
    cfg = DetectionConfig(n_estimators=20, max_samples=64)
    assert isinstance(fit_forest(ONE_COLUMN["normal"][:, None], cfg, seed=1), StepForest)
    assert isinstance(fit_forest(_blob(300), cfg, seed=1), PackedForest)


def test_packed_forest_scores_in_chunks_exactly_as_in_one_pass() -> None:
    x = _blob(n=1500)
    forest = PackedForest.from_sklearn(_sklearn(x, trees=40, samples=128, seed=2))
    chunked = forest.raw(x)  # 1500 rows > CHUNK_ROWS: scored in three passes
    forest.CHUNK_ROWS = 10_000
    np.testing.assert_array_equal(chunked, forest.raw(x))


def test_forest_puts_outliers_on_top() -> None:
    raw = fit_forest(_blob(), DetectionConfig(), seed=1).raw(_blob())
    assert raw[:10].min() > np.quantile(raw[10:], 0.99)


def test_forest_impl_still_loads_with_a_deprecation_warning() -> None:
    with pytest.warns(FutureWarning, match="forest_impl is deprecated"):
        cfg = DetectionConfig(forest_impl="isotree")
    assert cfg == DetectionConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DetectionConfig()  # no warning without it


def test_robust_z_is_the_largest_distance_in_robust_standard_deviations() -> None:
    train = np.column_stack([np.arange(101.0), np.full(101, 5.0)])
    z = RobustZ(train)
    # column 0: median 50, MAD 25 (x 1.4826); column 1 never moved: its floor is 1 % of 5
    got = z.raw(np.array([[50.0 + 2 * 1.4826 * 25, 5.0], [50.0, 5.1]]))
    np.testing.assert_allclose(got, [2.0, 0.1 / 0.05])
    assert isinstance(fit_scorer(train, DetectionConfig(scorer="zscore"), seed=0), RobustZ)


def test_the_exponential_tail_stands_for_the_top_rows_ties_included() -> None:
    """A reference of zeros and 2 % spikes: the exponential above the 90th percentile is fitted
    to the top 10 % of rows (mostly zeros), so a spike is no less rare than its 2 % share says;
    fitted to the spikes alone it would read as a one-in-27 value."""
    ref = np.sort(np.where(np.arange(1000) % 50 == 0, 1.0, 0.0))
    p_spike = float(np.exp(empirical_log_tail(ref, np.array([1.0]), tail_quantile=0.9))[0])
    assert p_spike < 0.02
    p_zero = float(np.exp(empirical_log_tail(ref, np.array([0.0]), tail_quantile=0.9))[0])
    assert p_zero > 0.4  # the common value stays typical


def test_column_medians_are_nanmedians_with_or_without_nan() -> None:
    from modelwatch.detection.medians import column_medians

    rng = np.random.default_rng(4)
    for rows in (1, 2, 7, 600, 601):
        x = rng.lognormal(size=(rows, 5)) * 1e4
        np.testing.assert_array_equal(column_medians(x), np.nanmedian(x, axis=0))
        x[rng.random(x.shape) < 0.3] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column
            np.testing.assert_array_equal(column_medians(x), np.nanmedian(x, axis=0))
