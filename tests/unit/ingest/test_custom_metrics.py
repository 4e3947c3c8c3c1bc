"""The gate checks a declared metric like a built-in one: present as a column (else a clear
error naming it), not null, a number, within its bounds; a bad value quarantines only the
model that sent it."""

from __future__ import annotations

import numpy as np
import pytest

from modelwatch.config import ValidationConfig
from modelwatch.config.metrics import MetricSpec
from modelwatch.ingest.validate import StructuralValidationError, validate_hour
from tests.unit.ingest.test_bad_input import HOUR, MODELS, bad_rows, checks, clean_hour

CFG = ValidationConfig().with_metrics(
    [
        MetricSpec(name="gpu_util", unit="fraction", direction="up", min_value=0, max_value=1),
        MetricSpec(name="queue_depth", unit="requests", min_value=0),
    ]
)


def with_extras(seed: int = 0):
    df = clean_hour(MODELS, seed)
    rng = np.random.default_rng(seed)
    df["gpu_util"] = rng.uniform(0.2, 0.8, len(df))
    df["queue_depth"] = rng.poisson(5, len(df)).astype(float)
    return df


def test_clean_extras_pass_and_stay_in_the_clean_rows() -> None:
    report = validate_hour(with_extras(), HOUR, MODELS, CFG)
    assert report.passed == MODELS
    assert {"gpu_util", "queue_depth"} <= set(report.clean.columns)


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("gpu_util", 1.5, "gpu_util <= 1"),
        ("gpu_util", -0.1, "gpu_util >= 0"),
        ("gpu_util", np.nan, "gpu_util not null"),
        ("queue_depth", np.nan, "queue_depth not null"),
        ("queue_depth", -3.0, "queue_depth >= 0"),
        ("queue_depth", np.inf, "queue_depth finite"),
        ("queue_depth", "lots", "queue_depth is a number"),
    ],
)
def test_a_bad_extra_value_quarantines_only_its_model(column, value, check) -> None:
    df = with_extras()
    if isinstance(value, str):
        df[column] = df[column].astype(object)
    df.loc[bad_rows(df)[:2], column] = value
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.quarantined == ["bad"] and report.passed == ["ok1", "ok2"]
    assert checks(report, "bad") == {check: 2}


def test_a_missing_declared_column_is_a_clear_error() -> None:
    df = with_extras().drop(columns=["queue_depth"])
    with pytest.raises(StructuralValidationError, match=r"missing: queue_depth \(columns"):
        validate_hour(df, HOUR, MODELS, CFG)


def test_undeclared_extras_are_still_ignored() -> None:
    df = with_extras()
    df.loc[bad_rows(df), "gpu_util"] = 7.0  # out of its declared bounds, but not declared here
    assert validate_hour(df, HOUR, MODELS, ValidationConfig()).passed == MODELS


def test_a_model_that_does_not_report_an_optional_metric_passes() -> None:
    """A fleet declares GPU use; its CPU models send none: not bad data. A model that does
    send it must send it on every row, and a `required` metric must come from every model."""
    df = with_extras()
    df.loc[df["model_id"] == "ok2", "gpu_util"] = np.nan  # never sent by ok2
    df.loc[bad_rows(df)[:2], "gpu_util"] = np.nan  # "bad" sent some, not all
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.passed == ["ok1", "ok2"] and report.quarantined == ["bad"]
    assert checks(report, "bad") == {"gpu_util not null": 2}

    required = ValidationConfig().with_metrics(
        [MetricSpec(name="gpu_util", min_value=0, max_value=1, required=True)]
    )
    strict = validate_hour(df.drop(columns=["queue_depth"]), HOUR, MODELS, required)
    assert strict.quarantined == ["bad", "ok2"]


def test_a_column_of_unreadable_text_is_not_taken_for_an_unreported_metric() -> None:
    df = with_extras()
    df["gpu_util"] = df["gpu_util"].astype(object)
    df.loc[df["model_id"] == "bad", "gpu_util"] = "n/a"
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.quarantined == ["bad"]
    assert "gpu_util is a number" in checks(report, "bad")
