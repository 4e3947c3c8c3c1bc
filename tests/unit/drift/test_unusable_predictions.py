"""Predictions that are no sample: an hour of NaN predictions is reported (not skipped without
a word), and infinite ones are left out of the tests and of the reference's sketch."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from modelwatch.config import DriftConfig
from modelwatch.drift import stats
from modelwatch.drift.calculator import model_findings
from modelwatch.drift.reference import sketch_rows

HOUR = datetime(2026, 11, 1, 9)
CFG = DriftConfig()
FEATURES = ["prediction"]


def hour_rows(values: np.ndarray) -> pd.DataFrame:
    ts = pd.date_range(HOUR, periods=len(values), freq="5s")
    return pd.DataFrame({"ts": ts, "model_id": "m", "prediction": values})


def sketches(rng: np.random.Generator) -> dict:
    ref = stats.quantile_sketch(rng.normal(0.0, 1.0, 3000), CFG.sketch_quantiles)
    return {("m", "prediction"): ("clean 2026-10-25..2026-10-31", ref)}


def test_an_hour_of_nan_predictions_is_reported_as_drifted() -> None:
    rng = np.random.default_rng(1)
    found = model_findings(HOUR, "m", hour_rows(np.full(240, np.nan)), sketches(rng), FEATURES, CFG)
    (row,) = found
    assert row["test"] == stats.NON_FINITE and row["drifted"]
    assert row["statistic"] == 1.0 and row["n_current"] == 240 and row["n_reference"] == 3000
    assert row["reference"] == "clean 2026-10-25..2026-10-31"


def test_nan_predictions_without_a_reference_are_reported_too() -> None:
    found = model_findings(HOUR, "m", hour_rows(np.full(240, np.nan)), {}, FEATURES, CFG)
    (row,) = found
    assert row["test"] == stats.NON_FINITE and row["drifted"] and row["n_reference"] == 0
    assert row["reference"].startswith("clean ")


def test_mostly_usable_predictions_are_tested_on_the_usable_ones() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(0.0, 1.0, 240)
    values[:20] = np.nan
    values[20:25], values[25:30] = np.inf, -np.inf
    found = model_findings(HOUR, "m", hour_rows(values), sketches(rng), FEATURES, CFG)
    assert {r["test"] for r in found} == {"psi", "ks", "wasserstein"}
    assert all(math.isfinite(r["statistic"]) for r in found)
    assert {r["n_current"] for r in found} == {210}
    assert not any(r["drifted"] for r in found)


def test_too_few_rows_say_nothing() -> None:
    found = model_findings(HOUR, "m", hour_rows(np.full(50, np.nan)), {}, FEATURES, CFG)
    assert found == []


def test_infinite_reference_values_stay_out_of_the_sketch() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0.0, 1.0, 600)
    values[:10] = np.inf
    (row,) = sketch_rows(hour_rows(values), "m", FEATURES, CFG)
    sk = row["sketch"]
    assert row["n"] == 590 and sk["n"] == 590
    assert math.isfinite(sk["sd"]) and all(math.isfinite(q) for q in sk["q"])
