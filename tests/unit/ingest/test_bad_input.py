"""The validation gate's bad-input catalogue: every case ends in a clear error or a per-model
quarantine with the reason recorded, and loses nothing else (the other models pass).

Each case spoils model "bad" in a clean hour of three models; "ok1" and "ok2" stay clean.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from modelwatch import schema
from modelwatch.config import ValidationConfig
from modelwatch.ingest.validate import StructuralValidationError, ValidationReport, validate_hour
from tests.unit.ingest.test_validate import make_hour

HOUR = datetime(2026, 11, 1, 9)
CFG = ValidationConfig()
MODELS = ["bad", "ok1", "ok2"]


def clean_hour(models: list[str], seed: int = 0) -> pd.DataFrame:
    """60 clean one-minute rows per model (the gate tests' hour), replicas as floats."""
    frame = make_hour(models, HOUR, seed)
    frame["replicas"] = frame["replicas"].astype(float)
    return frame


def bad_rows(df: pd.DataFrame) -> pd.Index:
    return df.index[df["model_id"] == "bad"]


def checks(report: ValidationReport, model: str) -> dict[str, int]:
    v = report.verdicts.set_index("model_id")
    return {c["check"]: c["unexpected"] for c in json.loads(v.loc[model, "failed_checks"])}


def status(report: ValidationReport, model: str) -> str:
    return str(report.verdicts.set_index("model_id").loc[model, "status"])


# --- cases that quarantine "bad" alone ----------------------------------------------------------


def _set(column: str, value: object, rows: slice = slice(0, 1)) -> Callable:
    def spoil(df: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(value, float):
            df[column] = df[column].astype(object)
        df.loc[bad_rows(df)[rows], column] = value
        return df

    return spoil


def _p50_above_p99(df: pd.DataFrame) -> pd.DataFrame:
    r = bad_rows(df)[:2]
    df.loc[r, "latency_p50_ms"] = df.loc[r, "latency_p99_ms"] + 1.0
    return df


def _duplicates(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.loc[bad_rows(df)[[4]]]])


def _late_rows(df: pd.DataFrame) -> pd.DataFrame:
    r = bad_rows(df)
    df.loc[r[0], "ts"] = HOUR - timedelta(minutes=5)  # belongs to the hour before
    df.loc[r[1], "ts"] = HOUR + timedelta(hours=1)  # the next hour's first minute
    return df


def _one_row(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(bad_rows(df)[1:])


@dataclass(frozen=True)
class Quarantine:
    spoil: Callable[[pd.DataFrame], pd.DataFrame]
    checks: dict[str, int]


QUARANTINES = {
    "nan": Quarantine(_set("request_rate", float("nan")), {"request_rate not null": 1}),
    "null_in_metric": Quarantine(_set("cpu_util", None), {"cpu_util not null": 1}),
    "plus_inf_open_range": Quarantine(
        _set("latency_p99_ms", float("inf")), {"latency_p99_ms finite": 1}
    ),
    "plus_inf_closed_range": Quarantine(_set("error_rate", float("inf")), {"error_rate <= 1": 1}),
    "minus_inf": Quarantine(_set("prediction_mean", float("-inf")), {"prediction_mean finite": 1}),
    "minus_inf_nonnegative": Quarantine(
        _set("request_rate", float("-inf")),
        {"request_rate >= 0": 1, "request_rate finite": 1},
    ),
    "negative_latency": Quarantine(_set("latency_p50_ms", -1.0), {"latency_p50_ms >= 0": 1}),
    "negative_rate": Quarantine(_set("request_rate", -0.5), {"request_rate >= 0": 1}),
    "error_rate_above_1": Quarantine(_set("error_rate", 1.5), {"error_rate <= 1": 1}),
    "p50_above_p99": Quarantine(_p50_above_p99, {"latency_p50_ms <= latency_p95_ms": 2}),
    "duplicate_rows": Quarantine(_duplicates, {"(model_id, ts) unique": 2}),
    "late_rows": Quarantine(_late_rows, {"ts within hour": 2}),
    "string_in_numeric": Quarantine(_set("memory_util", "n/a"), {"memory_util is a number": 1}),
    "strings_in_numeric_many": Quarantine(
        _set("replicas", "three", slice(0, 60)), {"replicas is a number": 60}
    ),
    "garbled_timestamp": Quarantine(_set("ts", "yesterday-ish"), {"ts is a timestamp": 1}),
    "1e300_in_bounded": Quarantine(_set("cpu_util", 1e300), {"cpu_util <= 1": 1}),
    "one_row_in_the_hour": Quarantine(
        _one_row, {"completeness >= 0.8": 1, "staleness_minutes <= 15": 1}
    ),
}


@pytest.mark.parametrize("case", list(QUARANTINES), ids=list(QUARANTINES))
def test_bad_input_quarantines_only_its_model_with_the_reason(case: str) -> None:
    q = QUARANTINES[case]
    df = q.spoil(clean_hour(MODELS))
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.quarantined == ["bad"]
    assert report.passed == ["ok1", "ok2"]
    assert checks(report, "bad") == q.checks
    # nothing lost: every input row is owned by a verdict, and clean holds the passed models'
    v = report.verdicts
    models = v[v["model_id"] != schema.FLEET]
    assert models["n_rows"].sum() == len(df)
    assert set(report.clean["model_id"]) == {"ok1", "ok2"}
    assert len(report.clean) == 120


# --- cases that pass as data ------------------------------------------------------------------

HOSTILE_IDS = {
    "unicode": "模型-ñ-🚀",
    "very_long": "m" * 10_000,
    "sql": "'; DROP TABLE x; --",
    "path": "../../etc",
    "html": "<script>alert(1)</script>",
}


@pytest.mark.parametrize("kind", list(HOSTILE_IDS), ids=list(HOSTILE_IDS))
def test_strange_model_ids_pass_through_as_data(kind: str) -> None:
    odd = HOSTILE_IDS[kind]
    df = clean_hour([odd, "ok1"])
    report = validate_hour(df, HOUR, [odd, "ok1"], CFG)
    assert sorted(report.passed) == sorted([odd, "ok1"])
    assert (report.clean["model_id"] == odd).sum() == 60  # the id is kept byte for byte


def test_a_strange_id_with_bad_data_is_quarantined_like_any_other() -> None:
    odd = HOSTILE_IDS["sql"]
    df = clean_hour([odd, "ok1"])
    df.loc[df["model_id"] == odd, "error_rate"] = 2.0
    report = validate_hour(df, HOUR, [odd, "ok1"], CFG)
    assert report.quarantined == [odd] and report.passed == ["ok1"]
    assert checks(report, odd) == {"error_rate <= 1": 60}


def test_an_extra_column_is_ignored() -> None:
    df = clean_hour(MODELS)
    df["gpu_util"] = "not even numeric"
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.passed == MODELS


def test_1e300_in_an_open_range_metric_is_data() -> None:
    """Huge but finite: a real (if absurd) observation for the detector to judge, not a
    validation failure."""
    df = clean_hour(MODELS)
    df.loc[bad_rows(df)[0], "latency_p99_ms"] = 1e300
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.passed == MODELS


@pytest.mark.parametrize("zone", [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=9))])
def test_aware_timestamps_are_converted_to_utc(zone: timezone) -> None:
    df = clean_hour(MODELS)
    df["ts"] = df["ts"].dt.tz_localize("UTC").dt.tz_convert(zone)
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.passed == MODELS
    assert report.clean["ts"].dt.tz is None
    assert report.clean["ts"].min() == pd.Timestamp(HOUR)


def test_naive_and_aware_timestamps_mixed_in_one_column() -> None:
    """Naive means UTC (the warehouse's convention); aware ones are converted."""
    df = clean_hour(MODELS)
    ts = [t.to_pydatetime() for t in df["ts"]]
    r = bad_rows(df)
    for i in r:  # model "bad" reports in UTC+02:00, the others naive
        ts[i] = ts[i].replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=2)))
    df["ts"] = pd.Series(ts, dtype=object)
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.passed == MODELS
    got = report.clean.loc[report.clean["model_id"] == "bad", "ts"]
    assert got.min() == pd.Timestamp(HOUR) and got.dt.tz is None


def test_timestamps_as_iso_strings_are_read() -> None:
    df = clean_hour(MODELS)
    df["ts"] = df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert validate_hour(df, HOUR, MODELS, CFG).passed == MODELS


# --- empty hours --------------------------------------------------------------------------------


def test_an_empty_hour_for_one_model_is_no_data_for_it_alone() -> None:
    df = clean_hour(["ok1", "ok2"])
    report = validate_hour(df, HOUR, MODELS, CFG)
    assert report.no_data == ["bad"] and report.passed == ["ok1", "ok2"]
    assert checks(report, "bad") == {"rows present": 1}
    assert status(report, schema.FLEET) == "passed"


def test_an_empty_hour_for_all_is_one_fleet_finding() -> None:
    report = validate_hour(clean_hour(MODELS).iloc[0:0], HOUR, MODELS, CFG)
    assert report.no_data == MODELS
    assert status(report, schema.FLEET) == "no_data"
    assert checks(report, schema.FLEET) == {"rows present for any model": 3}


def test_an_empty_hour_without_columns_names_the_missing_columns() -> None:
    """An empty extract of a table that lost a column is a structural fault, not an outage."""
    empty = clean_hour(MODELS).iloc[0:0].drop(columns=["error_rate"])
    with pytest.raises(StructuralValidationError, match=r"missing: error_rate"):
        validate_hour(empty, HOUR, MODELS, CFG)


# --- clear errors for the hour --------------------------------------------------------------


def test_a_missing_column_is_named() -> None:
    df = clean_hour(MODELS).drop(columns=["memory_util"])
    with pytest.raises(StructuralValidationError, match=r"required column\(s\) missing: memory_u"):
        validate_hour(df, HOUR, MODELS, CFG)


def test_a_renamed_column_is_named_with_the_columns_present() -> None:
    df = clean_hour(MODELS).rename(columns={"latency_p99_ms": "p99"})
    with pytest.raises(
        StructuralValidationError, match=r"missing: latency_p99_ms \(columns present: .*p99"
    ):
        validate_hour(df, HOUR, MODELS, CFG)


def test_timestamps_as_numbers_are_refused_with_the_dtype() -> None:
    df = clean_hour(MODELS)
    df["ts"] = df["ts"].astype("int64") // 1_000_000
    with pytest.raises(StructuralValidationError, match=r"'ts' is not datetime-like \(dtype int"):
        validate_hour(df, HOUR, MODELS, CFG)
