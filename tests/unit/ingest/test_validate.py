"""The hourly validation gate, on small hand-built hours with one known fault per model."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch import schema
from modelwatch.config import ValidationConfig
from modelwatch.ingest.validate import (
    StructuralValidationError,
    ValidationReport,
    validate_hour,
)

HOUR = datetime(2024, 5, 1, 10)
CFG = ValidationConfig()


def make_hour(models: list[str], hour: datetime = HOUR, seed: int = 0) -> pd.DataFrame:
    """60 clean one-minute rows per model, with plausible values for every metric."""
    rng = np.random.default_rng(seed)
    n = len(models) * schema.ROWS_PER_HOUR
    p50 = rng.uniform(20, 40, n)
    minutes = pd.date_range(hour, periods=schema.ROWS_PER_HOUR, freq="min")
    return pd.DataFrame(
        {
            "model_id": np.repeat(models, schema.ROWS_PER_HOUR),
            "ts": np.tile(minutes.to_numpy(), len(models)),
            "request_rate": rng.uniform(50, 100, n),
            "latency_p50_ms": p50,
            "latency_p95_ms": p50 * 2,
            "latency_p99_ms": p50 * 3,
            "error_rate": rng.uniform(0, 0.02, n),
            "cpu_util": rng.uniform(0.3, 0.7, n),
            "memory_util": rng.uniform(0.3, 0.7, n),
            "replicas": 3,
            "prediction_mean": rng.normal(0.5, 0.1, n),
            "model_version": "v1",
        }
    )


def rows_of(df: pd.DataFrame, model: str) -> pd.Index:
    return df.index[df["model_id"] == model]


def verdict(report: ValidationReport, model: str) -> pd.Series:
    v = report.verdicts
    return v.loc[v["model_id"] == model].iloc[0]


def checks(report: ValidationReport, model: str) -> dict[str, int]:
    return {
        c["check"]: c["unexpected"] for c in json.loads(verdict(report, model)["failed_checks"])
    }


# One GX run over an hour where each model carries a single known fault; most tests read it.
FAULTY = [
    "bad_order",
    "clean",
    "dupes",
    "few_null",
    "lossy",
    "neg_latency",
    "not_finite",
    "out_of_hour",
    "sparse",
    "stale",
]
EXPECTED = [*FAULTY, "gone"]


@pytest.fixture(scope="module")
def messy() -> tuple[pd.DataFrame, ValidationReport]:
    df = make_hour([*FAULTY, "newbie"])
    df.loc[rows_of(df, "neg_latency")[:6], "latency_p50_ms"] = -5.0
    r = rows_of(df, "bad_order")[10:13]
    df.loc[r, "latency_p50_ms"] = df.loc[r, "latency_p99_ms"] + 10  # p50 > p99
    r = rows_of(df, "out_of_hour")
    df.loc[r[0], "ts"] = HOUR - timedelta(minutes=1)
    df.loc[r[1], "ts"] = HOUR + timedelta(hours=1)
    df.loc[rows_of(df, "not_finite")[5], "prediction_mean"] = np.inf
    df = df.drop(rows_of(df, "sparse")[1::2])  # every other minute: completeness 0.5
    df = df.drop(rows_of(df, "stale")[31:])  # last row at :30
    df.loc[rows_of(df, "lossy")[:20], "model_id"] = None  # 40 of 60 minutes left
    df.loc[rows_of(df, "few_null")[:2], "model_id"] = None  # 58 left: still complete enough
    df = pd.concat([df, df.loc[rows_of(df, "dupes")[[7, 8]]]])  # two minutes delivered twice
    return df, validate_hour(df, HOUR, EXPECTED, CFG)


def test_clean_hour_passes_everything() -> None:
    df = make_hour(["m1", "m2", "m3", "m4"])
    report = validate_hour(df, HOUR, ["m1", "m2", "m3", "m4"], CFG)
    v = report.verdicts
    assert list(v.columns) == [
        "hour",
        "model_id",
        "status",
        "n_rows",
        "completeness",
        "staleness_minutes",
        "failed_checks",
    ]
    assert v["model_id"].tolist() == [schema.FLEET, "m1", "m2", "m3", "m4"]
    assert set(v["status"]) == {"passed"}
    assert (v["failed_checks"] == "[]").all()
    assert (v["hour"] == pd.Timestamp(HOUR)).all()
    assert pd.api.types.is_datetime64_dtype(v["hour"])
    assert v["n_rows"].dtype == np.int64
    assert v["completeness"].tolist() == [1.0] * 5
    assert v["staleness_minutes"].tolist() == [1.0] * 5  # newest row at :59
    assert report.passed == ["m1", "m2", "m3", "m4"]
    assert report.quarantined == [] and report.no_data == []
    pd.testing.assert_frame_equal(report.clean, df)
    assert report.gx_statistics["evaluated_expectations"] > 0
    assert report.gx_statistics["unsuccessful_expectations"] == 0


def test_negative_latency_quarantines_only_that_model(messy) -> None:
    _, report = messy
    assert checks(report, "neg_latency") == {"latency_p50_ms >= 0": 6}
    assert verdict(report, "neg_latency")["status"] == "quarantined"
    assert verdict(report, "clean")["status"] == "passed"
    assert checks(report, "clean") == {}


def test_duplicates_quarantine(messy) -> None:
    _, report = messy
    assert checks(report, "dupes") == {"(model_id, ts) unique": 4}
    v = verdict(report, "dupes")
    assert v["status"] == "quarantined"
    assert v["n_rows"] == 62
    assert v["completeness"] == 1.0  # distinct minutes, not rows


def test_null_model_ids_go_to_fleet_row_and_out_of_clean(messy) -> None:
    _, report = messy
    fleet = verdict(report, schema.FLEET)
    assert fleet["status"] == "warning"
    assert checks(report, schema.FLEET) == {"model_id not null": 22}
    assert report.clean["model_id"].notna().all()
    # The model that lost 20 of 60 rows is judged on the remaining 40, and is too incomplete.
    lossy = verdict(report, "lossy")
    assert lossy["n_rows"] == 40
    assert lossy["completeness"] == pytest.approx(40 / 60)
    assert checks(report, "lossy") == {"completeness >= 0.8": 1}
    # The one that lost 2 still passes, and only its 58 attributed rows are clean.
    assert verdict(report, "few_null")["status"] == "passed"
    assert (report.clean["model_id"] == "few_null").sum() == 58


def test_only_unattributable_rows_keep_verdict_dtypes() -> None:
    df = make_hour(["m1"])
    df["model_id"] = None
    report = validate_hour(df, HOUR, [], CFG)
    assert report.verdicts["model_id"].tolist() == [schema.FLEET]
    assert checks(report, schema.FLEET) == {"model_id not null": 60}
    assert report.verdicts["hour"].dtype == "datetime64[us]"
    assert report.clean.empty


def test_expected_model_without_rows_is_no_data(messy) -> None:
    _, report = messy
    v = verdict(report, "gone")
    assert v["status"] == "no_data"
    assert v["n_rows"] == 0
    assert v["completeness"] == 0.0
    assert np.isnan(v["staleness_minutes"])
    assert checks(report, "gone") == {"rows present": 1}
    assert report.no_data == ["gone"]


def test_unexpected_new_model_is_validated(messy) -> None:
    _, report = messy
    assert verdict(report, "newbie")["status"] == "passed"


def test_low_completeness_quarantines(messy) -> None:
    _, report = messy
    v = verdict(report, "sparse")
    assert v["completeness"] == 0.5
    assert v["status"] == "quarantined"
    assert checks(report, "sparse") == {"completeness >= 0.8": 1}


def test_stale_model_quarantined(messy) -> None:
    _, report = messy
    assert verdict(report, "stale")["staleness_minutes"] == 30.0
    assert checks(report, "stale")["staleness_minutes <= 15"] == 1


def test_stale_alone_quarantines() -> None:
    df = make_hour(["fresh", "stale"])
    df = df.drop(rows_of(df, "stale")[31:])
    report = validate_hour(df, HOUR, ["fresh", "stale"], ValidationConfig(min_completeness=0.4))
    assert report.quarantined == ["stale"]
    assert checks(report, "stale") == {"staleness_minutes <= 15": 1}


def test_latency_order_caught(messy) -> None:
    _, report = messy
    assert checks(report, "bad_order") == {"latency_p50_ms <= latency_p95_ms": 3}


def test_ts_outside_hour_caught(messy) -> None:
    _, report = messy
    assert checks(report, "out_of_hour") == {"ts within hour": 2}
    # The two misplaced rows do not count as delivered minutes either.
    assert verdict(report, "out_of_hour")["completeness"] == pytest.approx(58 / 60)


def test_infinite_metric_caught(messy) -> None:
    _, report = messy
    assert checks(report, "not_finite") == {"prediction_mean finite": 1}


def test_statuses_over_the_messy_hour(messy) -> None:
    _, report = messy
    assert report.passed == ["clean", "few_null", "newbie"]
    assert report.no_data == ["gone"]
    assert set(report.quarantined) == set(FAULTY) - {"clean", "few_null"}
    v = report.verdicts
    assert v["model_id"].tolist() == [schema.FLEET, *sorted([*EXPECTED, "newbie"])]


def test_every_input_row_is_accounted_for(messy) -> None:
    df, report = messy
    v = report.verdicts
    models = v[v["model_id"] != schema.FLEET]
    null_ids = checks(report, schema.FLEET)["model_id not null"]
    assert models["n_rows"].sum() + null_ids == len(df)
    assert verdict(report, schema.FLEET)["n_rows"] == len(df)
    assert len(report.clean) == models.loc[models["status"] == "passed", "n_rows"].sum()
    # Clean rows are the input rows as given: same index labels, columns and values.
    pd.testing.assert_frame_equal(report.clean, df.loc[report.clean.index])


def test_bad_row_share_tolerance_but_never_for_duplicates() -> None:
    df = make_hour(["one_bad", "dupes"])
    df.loc[rows_of(df, "one_bad")[0], "error_rate"] = 1.5
    df = pd.concat([df, df.loc[rows_of(df, "dupes")[[3]]]])
    report = validate_hour(df, HOUR, [], ValidationConfig(max_bad_row_share=0.05))
    assert report.passed == ["one_bad"]
    assert checks(report, "dupes") == {"(model_id, ts) unique": 2}
    strict = validate_hour(df, HOUR, [], CFG)
    assert checks(strict, "one_bad") == {"error_rate <= 1": 1}


def test_missing_columns_named() -> None:
    df = make_hour(["m1"]).drop(columns=["cpu_util", "ts"])
    with pytest.raises(StructuralValidationError, match=r"missing: ts, cpu_util"):
        validate_hour(df, HOUR, ["m1"], CFG)


def test_model_version_is_optional() -> None:
    df = make_hour(["m1"]).drop(columns=["model_version"])
    assert validate_hour(df, HOUR, ["m1"], CFG).passed == ["m1"]


def test_empty_frame_is_a_fleet_outage_when_models_expected() -> None:
    """Was: raised "nothing extracted", so the hour had no mw_runs row and no alert. Now every
    expected model is no_data and the FLEET row says the whole fleet is missing."""
    empty = make_hour(["m1"]).iloc[0:0]
    report = validate_hour(empty, HOUR, ["m1", "m2"], CFG)
    v = report.verdicts
    assert v["model_id"].tolist() == [schema.FLEET, "m1", "m2"]
    assert v["status"].tolist() == ["no_data", "no_data", "no_data"]
    assert checks(report, schema.FLEET) == {"rows present for any model": 2}
    assert checks(report, "m1") == {"rows present": 1}
    assert report.no_data == ["m1", "m2"] and report.passed == [] and report.clean.empty
    assert v["hour"].dtype == "datetime64[us]" and v["n_rows"].dtype == np.int64
    quiet = validate_hour(empty, HOUR, [], CFG)
    assert quiet.verdicts["model_id"].tolist() == [schema.FLEET]
    assert quiet.verdicts["status"].tolist() == ["passed"]
    assert quiet.clean.empty


def test_non_numeric_metric_value_quarantines_only_its_model() -> None:
    """Was: one string in one model's row raised for the whole hour. Now only that model is
    quarantined, with the reason; the others pass."""
    df = make_hour(["m1", "m2"])
    df["error_rate"] = df["error_rate"].astype(object)
    df.loc[3, "error_rate"] = "oops"
    report = validate_hour(df, HOUR, ["m1", "m2"], ValidationConfig(max_bad_row_share=0.5))
    assert report.quarantined == ["m1"] and report.passed == ["m2"]
    assert checks(report, "m1") == {"error_rate is a number": 1}  # once, not also "not null"
    assert report.clean["error_rate"].dtype == np.float64
    assert (report.clean["model_id"] == "m2").all()


def test_numeric_strings_are_read_as_numbers() -> None:
    df = make_hour(["m1"])
    df["replicas"] = df["replicas"].astype(str)
    report = validate_hour(df, HOUR, ["m1"], CFG)
    assert report.passed == ["m1"]
    assert report.clean["replicas"].dtype == np.float64


def test_ts_not_datetime_like() -> None:
    df = make_hour(["m1"])
    df["ts"] = np.arange(len(df))
    with pytest.raises(StructuralValidationError, match=r"'ts' is not datetime-like"):
        validate_hour(df, HOUR, ["m1"], CFG)


def test_hour_must_be_naive_top_of_hour() -> None:
    df = make_hour(["m1"])
    with pytest.raises(ValueError, match="top of an hour"):
        validate_hour(df, HOUR + timedelta(minutes=5), ["m1"], CFG)


def test_import_does_not_load_great_expectations() -> None:
    code = (
        "import sys, modelwatch.ingest.validate; "
        "sys.exit(1 if 'great_expectations' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_gx_runs_quietly(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from modelwatch.ingest import gx as mwgx

    # a fresh thread cache, so building GX's context is inside the captured run too
    monkeypatch.setattr(mwgx, "_LOCAL", threading.local())
    validate_hour(make_hour(["m1", "m2"]), HOUR, ["m1", "m2"], CFG)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # no tqdm bars, no GX log lines


def test_expectation_gx_cannot_evaluate_is_fatal() -> None:
    from collections import defaultdict

    from modelwatch.ingest import gx as mwgx

    gx, batches = mwgx.frame_batches()
    bad = mwgx.expect(gx, "ExpectColumnValuesToNotBeNull", "nope not null", column="nope")
    with pytest.raises(RuntimeError, match="could not evaluate 'nope not null'"):
        mwgx.run_suite(gx, batches, pd.DataFrame({"a": [1.0]}), [bad], "t", defaultdict(int))


def test_a_failing_suite_reports_its_rows_and_counts_once() -> None:
    """Pass or fail first, row positions only for a suite that failed: the failing rows are
    all found, and the expectations are counted once per hour, as in one pass."""
    from collections import defaultdict

    from modelwatch.ingest import gx as mwgx

    gx, batches = mwgx.frame_batches()
    frame = pd.DataFrame({"a": [1.0, None, 3.0, None]})
    suite = [
        mwgx.expect(gx, "ExpectColumnValuesToNotBeNull", "a not null", column="a"),
        mwgx.expect(gx, "ExpectColumnToExist", "column a exists", column="a"),
    ]
    stats: dict[str, int] = defaultdict(int)
    results = {mwgx.check_name(r): r for r in mwgx.run_suite(gx, batches, frame, suite, "t", stats)}
    assert mwgx.failing_positions(results["a not null"]) == [1, 3]
    assert mwgx.failing_positions(results["column a exists"]) == []
    assert dict(stats) == {
        "evaluated_expectations": 2,
        "successful_expectations": 1,
        "unsuccessful_expectations": 1,
    }
    clean = mwgx.run_suite(gx, batches, frame.fillna(0.0), suite, "t", stats)
    assert all(r.success for r in clean) and stats["evaluated_expectations"] == 4


def test_configurations_kept_leave_the_messy_hours_verdicts_as_they_were(
    messy, monkeypatch
) -> None:
    """GX builds an expectation's configuration once per suite run (`configurations_kept`);
    without that, the same verdicts and counts; GX's own property is back after each run."""
    import contextlib

    from great_expectations.expectations.expectation import Expectation

    from modelwatch.ingest import gx as mwgx

    real = Expectation.__dict__["configuration"]
    df, kept = messy
    monkeypatch.setattr(mwgx, "configurations_kept", lambda: contextlib.nullcontext({}))
    rebuilt = validate_hour(df, HOUR, EXPECTED, CFG)
    pd.testing.assert_frame_equal(kept.verdicts, rebuilt.verdicts)
    assert kept.gx_statistics == rebuilt.gx_statistics
    assert Expectation.__dict__["configuration"] is real
    monkeypatch.undo()
    with mwgx.configurations_kept() as configurations:
        e = mwgx.expect(mwgx.frame_batches()[0], "ExpectColumnToExist", "column a", column="a")
        assert e.configuration is e.configuration and len(configurations) == 1
        assert e.configuration.kwargs["column"] == "a"
    assert Expectation.__dict__["configuration"] is real and e.configuration is not e.configuration
