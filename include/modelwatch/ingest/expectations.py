"""The gate's rules: which expectations an hour of metrics must meet, and their thresholds.

Three suites, each run once per hour over the whole fleet (never once per model): the columns
(structure), the rows (keys, ranges, ordering) and the per-model summary (coverage, freshness).
Every expectation carries its check name, the name operators read in `mw_validation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from modelwatch import schema
from modelwatch.config import ValidationConfig
from modelwatch.ingest.gx import expect

CHECK_MODEL_ID = "model_id not null"
CHECK_UNIQUE = "(model_id, ts) unique"
CHECK_ROWS_PRESENT = "rows present"
#: The FLEET row's finding when no expected model sent a row: the whole fleet is missing.
CHECK_FLEET_ROWS = "rows present for any model"
#: Latency percentiles must be ordered; each pair is (lower, higher).
LATENCY_ORDER: tuple[tuple[str, str], ...] = (
    ("latency_p50_ms", "latency_p95_ms"),
    ("latency_p95_ms", "latency_p99_ms"),
)
#: Checks that quarantine on a single bad row, whatever `max_bad_row_share` allows.
ZERO_TOLERANCE: frozenset[str] = frozenset({CHECK_UNIQUE})

_HOUR = timedelta(hours=1)


def fmt(value: float) -> str:
    """A threshold as it appears in a check name: 0.8, 15, 1."""
    return f"{value:g}"


def column_check(column: str) -> str:
    return f"column {column} exists"


def not_null_check(column: str) -> str:
    return f"{column} not null"


def readable_check(column: str) -> str:
    """The finding for a value that cannot be read as its column's type at all (a string in a
    metric, a garbled timestamp)."""
    return "ts is a timestamp" if column == schema.TS else f"{column} is a number"


def zero_tolerance(check: str) -> bool:
    """Whether one bad row quarantines the model whatever `max_bad_row_share` allows: duplicates,
    and values of the wrong type (a broken producer, not a noisy one). Check names are ours
    (`readable_check` of a configured column), never text from the data."""
    readable = check == readable_check(schema.TS) or check.endswith(" is a number")
    return check in ZERO_TOLERANCE or readable


def required_columns(metrics: Sequence[schema.Metric] = schema.METRICS) -> tuple[str, ...]:
    """The columns an hour must have: the keys and every metric, built-in and declared."""
    return (schema.MODEL_ID, schema.TS, *(m.name for m in metrics))


def column_expectations(gx: Any, metrics: Sequence[schema.Metric] = schema.METRICS) -> list[Any]:
    """Every required column must exist (the structural suite)."""
    return [
        expect(gx, "ExpectColumnToExist", column_check(c), column=c)
        for c in required_columns(metrics)
    ]


def row_expectations(
    gx: Any, hour: datetime, metrics: Sequence[schema.Metric] = schema.METRICS
) -> list[Any]:
    """The per-row rules: keys present and in the hour, metrics (built-in and declared)
    present, finite, in range."""
    exps = [
        expect(gx, "ExpectColumnValuesToNotBeNull", CHECK_MODEL_ID, column=schema.MODEL_ID),
        expect(gx, "ExpectColumnValuesToNotBeNull", not_null_check(schema.TS), column=schema.TS),
        expect(
            gx,
            "ExpectColumnValuesToBeBetween",
            "ts within hour",
            column=schema.TS,
            min_value=hour,
            max_value=hour + _HOUR,
            strict_max=True,
        ),
        expect(
            gx,
            "ExpectCompoundColumnsToBeUnique",
            CHECK_UNIQUE,
            column_list=[schema.MODEL_ID, schema.TS],
        ),
    ]
    for m in metrics:
        # Quiet minutes (no traffic) have no latency or error rate: null is valid there only.
        quiet = (
            {"row_condition": schema.TRAFFIC_CONDITION, "condition_parser": "pandas"}
            if m.name in schema.QUIET_NULLABLE
            else {}
        )
        exps.append(
            expect(
                gx, "ExpectColumnValuesToNotBeNull", not_null_check(m.name), column=m.name, **quiet
            )
        )
        if m.min_value is not None:
            exps.append(
                expect(
                    gx,
                    "ExpectColumnValuesToBeBetween",
                    f"{m.name} >= {fmt(m.min_value)}",
                    column=m.name,
                    min_value=m.min_value,
                )
            )
        if m.max_value is not None:
            exps.append(
                expect(
                    gx,
                    "ExpectColumnValuesToBeBetween",
                    f"{m.name} <= {fmt(m.max_value)}",
                    column=m.name,
                    max_value=m.max_value,
                )
            )
        if m.min_value is None or m.max_value is None:
            # An open range would let +-inf through; a closed one already rejects it.
            exps.append(
                expect(
                    gx,
                    "ExpectColumnValuesToBeBetween",
                    f"{m.name} finite",
                    column=m.name,
                    min_value=float("-inf"),
                    max_value=float("inf"),
                    strict_min=True,
                    strict_max=True,
                )
            )
    names = {m.name for m in metrics}
    for low, high in LATENCY_ORDER:
        if low not in names or high not in names:  # a latency the fleet does not report
            continue
        exps.append(
            expect(
                gx,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                f"{low} <= {high}",
                column_A=high,
                column_B=low,
                or_equal=True,
                # A missing value is the "not null" check's finding, not an ordering one.
                ignore_row_if="either_value_is_missing",
            )
        )
    return exps


def model_expectations(gx: Any, cfg: ValidationConfig) -> list[Any]:
    """The per-model rules over the hour's summary: enough minutes delivered, recently enough."""
    complete = f"completeness >= {fmt(cfg.min_completeness)}"
    fresh = f"staleness_minutes <= {fmt(cfg.staleness_minutes)}"
    return [
        expect(
            gx,
            "ExpectColumnValuesToBeBetween",
            complete,
            column="completeness",
            min_value=cfg.min_completeness,
        ),
        # No row inside the hour means no known freshness: that fails it too.
        expect(gx, "ExpectColumnValuesToNotBeNull", fresh, column="staleness_minutes"),
        expect(
            gx,
            "ExpectColumnValuesToBeBetween",
            fresh,
            column="staleness_minutes",
            max_value=cfg.staleness_minutes,
        ),
    ]
