"""The drift tests against a reference sketch: effect sizes decide, p-values never alone."""

from __future__ import annotations

import numpy as np
import pytest

from modelwatch.config import DriftConfig
from modelwatch.drift import stats

CFG = DriftConfig()


def reference(rng: np.random.Generator, n: int = 7000, sd: float = 1.0) -> dict:
    return stats.quantile_sketch(rng.normal(0.0, sd, n), CFG.sketch_quantiles)


def verdicts(results: list[stats.TestResult]) -> dict[str, stats.TestResult]:
    return {r.test: r for r in results}


def test_the_same_distribution_does_not_drift() -> None:
    rng = np.random.default_rng(1)
    got = verdicts(stats.continuous_tests(rng.normal(0.0, 1.0, 1000), reference(rng), CFG))
    assert not any(r.drifted for r in got.values())
    assert got["psi"].statistic < 0.05
    assert got["ks"].p_value is not None and got["ks"].p_value > 0.001


def test_a_shifted_mean_drifts_on_every_test() -> None:
    rng = np.random.default_rng(2)
    got = verdicts(stats.continuous_tests(rng.normal(1.0, 1.0, 1000), reference(rng), CFG))
    assert all(r.drifted for r in got.values())
    assert got["wasserstein"].statistic == pytest.approx(1.0, abs=0.15)


def test_a_doubled_spread_with_the_same_mean_drifts() -> None:
    rng = np.random.default_rng(3)
    current = rng.normal(0.0, 2.0, 1000)
    got = verdicts(stats.continuous_tests(current, reference(rng), CFG))
    assert abs(current.mean()) < 0.2
    assert got["psi"].drifted and got["wasserstein"].drifted


def test_a_tiny_shift_is_significant_but_no_drift() -> None:
    """Why thresholds are on effect sizes: a big sample makes a 0.1 sd shift 'significant'."""
    rng = np.random.default_rng(4)
    big = {**reference(rng, 200_000), "n": 200_000}
    got = verdicts(stats.continuous_tests(rng.normal(0.1, 1.0, 20_000), big, CFG))
    assert got["ks"].p_value is not None and got["ks"].p_value < 1e-6
    assert not any(r.drifted for r in got.values())


def test_quantile_format_has_no_p_values() -> None:
    rng = np.random.default_rng(5)
    got = stats.continuous_tests(rng.normal(0.0, 1.0, 500), reference(rng), CFG, sampled=False)
    assert all(r.p_value is None for r in got)


def test_a_class_that_disappears_drifts() -> None:
    rng = np.random.default_rng(6)
    ref = stats.category_sketch(rng.choice(["a", "b", "c"], 7000, p=[0.5, 0.3, 0.2]))
    same = verdicts(
        stats.categorical_tests(rng.choice(["a", "b", "c"], 1000, p=[0.5, 0.3, 0.2]), ref, CFG)
    )
    gone = verdicts(stats.categorical_tests(rng.choice(["a", "b"], 1000, p=[0.6, 0.4]), ref, CFG))
    assert not any(r.drifted for r in same.values())
    assert gone["psi"].drifted and gone["cramers_v"].drifted
    assert gone["cramers_v"].p_value is not None and gone["cramers_v"].p_value < 1e-6


def test_a_constant_output_that_moves_drifts() -> None:
    ref = stats.quantile_sketch(np.full(1000, 0.5), CFG.sketch_quantiles)
    got = verdicts(stats.continuous_tests(np.full(500, 0.7), ref, CFG))
    assert got["wasserstein"].drifted and got["psi"].drifted


def test_error_growth_beyond_the_tolerance_is_flagged() -> None:
    worse = stats.performance_test(0.15, 0.10, False, CFG)
    fine = stats.performance_test(0.11, 0.10, False, CFG)
    assert worse.drifted and not fine.drifted and worse.baseline == 0.10
    assert stats.performance_test(0.80, 0.90, True, CFG).drifted
    assert not stats.performance_test(0.89, 0.90, True, CFG).drifted
