"""The hourly validation gate: decide, per model, whether the hour's metrics can be trusted.

Great Expectations validates the whole hour in one pass over the rows and one pass over a
one-row-per-model summary, never once per model, so a 1,000-model hour stays cheap. Failing rows
come back as index positions (result_format COMPLETE) and are mapped to their model ids here.
The rules live in `expectations.py`, the GX plumbing (and its lazy import) in `gx.py`.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import ValidationConfig
from modelwatch.ingest.coerce import StructuralValidationError, coerce
from modelwatch.ingest.expectations import (
    CHECK_FLEET_ROWS,
    CHECK_MODEL_ID,
    CHECK_ROWS_PRESENT,
    column_check,
    column_expectations,
    model_expectations,
    not_null_check,
    readable_check,
    required_columns,
    row_expectations,
    zero_tolerance,
)
from modelwatch.ingest.gx import check_name, failing_positions, frame_batches, run_suite

PASSED = "passed"
QUARANTINED = "quarantined"
#: A model that sent no row; on the FLEET row: no expected model sent one (a fleet outage).
NO_DATA = "no_data"
#: Status of the FLEET row when the hour has findings no model can own (null model ids).
WARNING = "warning"

__all__ = ["StructuralValidationError", "ValidationReport", "validate_hour"]

VERDICT_COLUMNS: tuple[str, ...] = (
    "hour",
    "model_id",
    "status",
    "n_rows",
    "completeness",
    "staleness_minutes",
    "failed_checks",
)

VERDICT_DTYPES: dict[str, str] = {
    "hour": "datetime64[us]",
    "model_id": "str",
    "status": "str",
    "n_rows": "int64",
    "completeness": "float64",
    "staleness_minutes": "float64",
    "failed_checks": "str",
}

_HOUR = timedelta(hours=1)


@dataclass
class ValidationReport:
    """The gate's verdict per model, and the rows that may go on to scoring."""

    verdicts: pd.DataFrame
    clean: pd.DataFrame
    #: GX's expectation counts summed over this hour's validations (evaluated/successful/...).
    gx_statistics: dict[str, int] = field(default_factory=dict)

    def _ids(self, status: str) -> list[str]:
        v = self.verdicts
        return v.loc[(v["status"] == status) & (v["model_id"] != schema.FLEET), "model_id"].tolist()

    @property
    def quarantined(self) -> list[str]:
        return self._ids(QUARANTINED)

    @property
    def no_data(self) -> list[str]:
        return self._ids(NO_DATA)

    @property
    def passed(self) -> list[str]:
        return self._ids(PASSED)


def validate_hour(
    df: pd.DataFrame,
    hour: datetime,
    expected_models: Sequence[str],
    cfg: ValidationConfig,
) -> ValidationReport:
    """Validate one hour of metrics [hour, hour+1h) and judge every expected or seen model.

    A model whose rows break a rule (a value out of range, or not a number at all) is
    quarantined with the reason; an expected model without rows is `no_data`, and when that is
    every expected model the FLEET row is `no_data` too: the hour is recorded, not lost.
    Raises StructuralValidationError only when the frame cannot be validated at all (missing
    columns, timestamps given as numbers). The metrics are `cfg.metrics`: the built-ins and
    the ones the config declares, each checked like the others.
    """
    _check_hour(hour)
    expected = list(dict.fromkeys(str(m) for m in expected_models))
    if schema.FLEET in expected:
        raise StructuralValidationError(f"{schema.FLEET!r} is reserved and cannot be a model id")

    gx, batches = frame_batches()
    stats: dict[str, int] = defaultdict(int)
    metrics = cfg.reported_metrics  # a built-in the fleet does not report is not checked
    _check_columns(gx, batches, df, stats, metrics)
    coerced = coerce(df, [m.name for m in metrics])
    data = coerced.data
    rows = data[list(required_columns(metrics))].reset_index(drop=True)
    null_ids, row_failures = 0, {}
    if len(rows):
        null_ids, row_failures = _validate_rows(gx, batches, rows, hour, stats, metrics)
        _add_unreadable(row_failures, rows, coerced.unreadable)
        _allow_unreported(row_failures, rows, df.reset_index(drop=True), metrics)
    facts = _model_facts(rows, hour, expected, cfg.interval_seconds)
    agg_failures = _validate_models(gx, batches, facts, cfg, stats)

    verdicts = _verdicts(facts, row_failures, agg_failures, cfg, hour)
    fleet = _fleet_row(rows, facts, hour, null_ids)
    verdicts = pd.concat([fleet, verdicts], ignore_index=True).astype(VERDICT_DTYPES)
    passed = verdicts.loc[verdicts["status"] == PASSED, "model_id"]
    clean = data.loc[data[schema.MODEL_ID].isin(passed)]
    return ValidationReport(verdicts=verdicts, clean=clean, gx_statistics=dict(stats))


# --- inputs ---------------------------------------------------------------------------------


def _check_hour(hour: datetime) -> None:
    """A wrong `hour` is a caller bug, not bad data: fail with ValueError, not the gate's error."""
    if not isinstance(hour, datetime) or hour.tzinfo is not None:
        raise ValueError(f"hour must be a naive UTC datetime, got {hour!r}")
    if (hour.minute, hour.second, hour.microsecond) != (0, 0, 0):
        raise ValueError(f"hour must be at the top of an hour, got {hour.isoformat()}")


# --- the three GX passes ----------------------------------------------------------------------


def _check_columns(
    gx: Any,
    batches: Any,
    df: pd.DataFrame,
    stats: dict[str, int],
    metrics: Sequence[schema.Metric],
) -> None:
    """Every required column (declared metrics included) must exist; name all the missing
    ones at once."""
    suite = column_expectations(gx, metrics)
    results = run_suite(gx, batches, df, suite, "modelwatch_schema", stats)
    failed = {check_name(r) for r in results if not r.success}
    missing = [c for c in required_columns(metrics) if column_check(c) in failed]
    if missing:
        raise StructuralValidationError(
            f"required column(s) missing: {', '.join(missing)} "
            f"(columns present: {', '.join(map(str, df.columns)) or 'none'})"
        )


def _validate_rows(
    gx: Any,
    batches: Any,
    rows: pd.DataFrame,
    hour: datetime,
    stats: dict[str, int],
    metrics: Sequence[schema.Metric],
) -> tuple[int, dict[str, dict[str, int]]]:
    """One GX pass over all rows; returns (null model_id rows, {model: {check: bad rows}}).

    Unreadable values were made missing by `coerce`; `_add_unreadable` reports them under
    their own check afterwards, and the "not null" checks here count them too, which
    `_add_unreadable` takes back out, so each bad value is reported once, as what it is.
    """
    suite = row_expectations(gx, hour, metrics)
    results = run_suite(gx, batches, rows, suite, "modelwatch_rows", stats)
    ids = rows[schema.MODEL_ID].to_numpy(dtype=object)
    null_ids = 0
    failures: dict[str, dict[str, int]] = defaultdict(dict)
    for r in results:
        index = failing_positions(r)
        if not index:
            continue
        check = check_name(r)
        if check == CHECK_MODEL_ID:
            null_ids = len(index)
            continue
        owners = pd.Series(ids[np.asarray(index, dtype=np.int64)]).dropna()
        for model_id, n in owners.value_counts().items():
            failures[str(model_id)][check] = int(n)
    return null_ids, failures


def _add_unreadable(
    failures: dict[str, dict[str, int]], rows: pd.DataFrame, unreadable: dict[str, np.ndarray]
) -> None:
    """Move values `coerce` could not read from "<col> not null" to "<col> is a number" (or
    "ts is a timestamp"), per model: the model that sent them is quarantined for it."""
    ids = rows[schema.MODEL_ID]
    for column, mask in unreadable.items():
        owners = ids[mask].dropna().value_counts()
        for model_id, n in owners.items():
            checks = failures[str(model_id)]
            left = checks.get(not_null_check(column), 0) - int(n)
            if left > 0:
                checks[not_null_check(column)] = left
            else:
                checks.pop(not_null_check(column), None)
            checks[readable_check(column)] = int(n)


def _allow_unreported(
    failures: dict[str, dict[str, int]],
    rows: pd.DataFrame,
    raw: pd.DataFrame,
    metrics: Sequence[schema.Metric],
) -> None:
    """An optional metric (declared, not `required`) that a model sent no value of at all in
    the hour (`raw`: as read, so a column of unreadable text still counts as sent) is one the
    model does not report: not bad data. A model that sent some must send it on every row."""
    ids = rows[schema.MODEL_ID].astype(str)
    for m in metrics:
        if not m.optional:
            continue
        absent = raw[m.name].isna().groupby(ids).all()
        for model_id in absent[absent].index:
            checks = failures.get(str(model_id))
            if checks is None:
                continue
            checks.pop(not_null_check(m.name), None)
            if not checks:
                del failures[str(model_id)]


def _model_facts(
    rows: pd.DataFrame, hour: datetime, expected: list[str], interval_s: int = 60
) -> pd.DataFrame:
    """Per model (expected or seen): rows delivered, distinct sample slots (one per source
    interval) over the slots of an hour, minutes since the newest."""
    end = pd.Timestamp(hour + _HOUR)
    owned = rows[rows[schema.MODEL_ID].notna()]
    ts = owned[schema.TS]
    in_hour = owned.loc[ts.notna() & (ts >= pd.Timestamp(hour)) & (ts < end), [schema.MODEL_ID]]
    in_hour["minute"] = ts.dt.floor(f"{interval_s}s")
    groups = in_hour.groupby(schema.MODEL_ID)["minute"]
    models = sorted(set(expected) | set(owned[schema.MODEL_ID].unique().tolist()))
    facts = pd.DataFrame(index=pd.Index(models, name=schema.MODEL_ID, dtype="str"))
    facts["n_rows"] = owned.groupby(schema.MODEL_ID).size().reindex(models, fill_value=0)
    minutes = groups.nunique().reindex(models, fill_value=0)
    slots = 3600 // interval_s
    facts["completeness"] = (minutes / slots).clip(upper=1.0).astype("float64")
    newest = groups.max().reindex(models).astype("datetime64[us]")
    facts["staleness_minutes"] = (end - newest).dt.total_seconds() / 60.0
    return facts


def _validate_models(
    gx: Any,
    batches: Any,
    facts: pd.DataFrame,
    cfg: ValidationConfig,
    stats: dict[str, int],
) -> dict[str, dict[str, int]]:
    """One GX pass over the per-model summary of models that sent rows: coverage and freshness."""
    present = facts[facts["n_rows"] > 0].reset_index()
    if present.empty:
        return {}
    suite = model_expectations(gx, cfg)
    results = run_suite(gx, batches, present, suite, "modelwatch_models", stats)
    ids = present[schema.MODEL_ID].to_numpy(dtype=object)
    failures: dict[str, dict[str, int]] = defaultdict(dict)
    for r in results:
        for position in failing_positions(r):
            failures[str(ids[position])][check_name(r)] = 1
    return failures


# --- verdicts -------------------------------------------------------------------------------


def _checks_json(checks: dict[str, int]) -> str:
    return json.dumps([{"check": c, "unexpected": int(checks[c])} for c in sorted(checks)])


def _verdicts(
    facts: pd.DataFrame,
    row_failures: dict[str, dict[str, int]],
    agg_failures: dict[str, dict[str, int]],
    cfg: ValidationConfig,
    hour: datetime,
) -> pd.DataFrame:
    """One row per model: no_data without rows, quarantined on any failed check, else passed."""
    records = []
    for model_id, f in facts.iterrows():
        n_rows = int(f["n_rows"])
        failed: dict[str, int] = {}
        if n_rows == 0:
            status, failed = NO_DATA, {CHECK_ROWS_PRESENT: 1}
        else:
            for check, n in row_failures.get(str(model_id), {}).items():
                if zero_tolerance(check) or n / n_rows > cfg.max_bad_row_share:
                    failed[check] = n
            failed.update(agg_failures.get(str(model_id), {}))
            status = QUARANTINED if failed else PASSED
        records.append(
            {
                "hour": pd.Timestamp(hour),
                "model_id": str(model_id),
                "status": status,
                "n_rows": n_rows,
                "completeness": float(f["completeness"]),
                "staleness_minutes": float(f["staleness_minutes"]),
                "failed_checks": _checks_json(failed),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(VERDICT_COLUMNS))


def _fleet_row(
    rows: pd.DataFrame, facts: pd.DataFrame, hour: datetime, null_ids: int
) -> pd.DataFrame:
    """The hour as a whole: every extracted row, mean completeness, unattributable rows, and
    whether the whole fleet is missing (then one finding for the fleet, not one per model)."""
    end = pd.Timestamp(hour + _HOUR)
    owned_ts = rows.loc[rows[schema.MODEL_ID].notna(), schema.TS]
    owned_ts = owned_ts[(owned_ts >= pd.Timestamp(hour)) & (owned_ts < end)]
    staleness = (end - owned_ts.max()).total_seconds() / 60.0 if len(owned_ts) else np.nan
    failed = {CHECK_MODEL_ID: null_ids} if null_ids else {}
    fleet_missing = len(facts) > 0 and bool((facts["n_rows"] == 0).all())
    if fleet_missing:
        failed[CHECK_FLEET_ROWS] = len(facts)
    status = NO_DATA if fleet_missing else WARNING if null_ids else PASSED
    return pd.DataFrame(
        {
            "hour": [pd.Timestamp(hour)],
            "model_id": [schema.FLEET],
            "status": [status],
            "n_rows": [len(rows)],
            "completeness": [float(facts["completeness"].mean()) if len(facts) else np.nan],
            "staleness_minutes": [staleness],
            "failed_checks": [_checks_json(failed)],
        }
    )
