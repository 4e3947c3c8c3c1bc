"""Read the delivered values as our types: numeric metrics, naive-UTC timestamps, text ids.

A whole column of the wrong kind (timestamps given as numbers, whose unit is a guess) is a
structural fault, raised for the hour. A single value that cannot be read (a string in a metric,
a garbled timestamp) is the fault of the model that sent it: it becomes a missing value here and
is reported back, cell by cell, so the gate can quarantine only that model with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.timestamps import naive_utc


class StructuralValidationError(ValueError):
    """The hour's data cannot be validated at all: the run must fail with this message."""


@dataclass
class Coerced:
    """The frame with our types, and which cells could not be read as them."""

    data: pd.DataFrame
    #: column -> boolean mask over the frame's rows (by position) of values that were unreadable.
    unreadable: dict[str, np.ndarray] = field(default_factory=dict)


def coerce(df: pd.DataFrame, metrics: Sequence[str] = schema.METRIC_NAMES) -> Coerced:
    """Make `metrics` numeric and `ts` naive-UTC datetime; unreadable cells become missing and
    are listed in `unreadable`. Raises for a column that cannot be read at all."""
    data = df.copy()
    unreadable: dict[str, np.ndarray] = {}
    for name in metrics:
        col = data[name]
        if isinstance(col.dtype, np.dtype) and (
            pd.api.types.is_float_dtype(col.dtype) or pd.api.types.is_integer_dtype(col.dtype)
        ):
            continue
        as_num = pd.to_numeric(col, errors="coerce")
        bad = (col.notna() & as_num.isna()).to_numpy(dtype=bool)
        if bad.any():
            unreadable[name] = bad
        data[name] = as_num.astype("float64")
    ts, bad_ts = _coerce_ts(data[schema.TS])
    data[schema.TS] = ts
    if bad_ts.any():
        unreadable[schema.TS] = bad_ts
    ids = data[schema.MODEL_ID]
    data[schema.MODEL_ID] = ids.where(ids.isna(), ids.astype("str")).astype("str")
    if (data[schema.MODEL_ID] == schema.FLEET).any():
        raise StructuralValidationError(
            f"model_id {schema.FLEET!r} is reserved for fleet findings and cannot be in the data"
        )
    return Coerced(data, unreadable)


def _coerce_ts(ts: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Naive UTC timestamps; aware ones are converted, numbers refused (their unit is a guess).
    Returns the column and the mask of values that could not be read as timestamps."""
    if pd.api.types.is_numeric_dtype(ts.dtype) or pd.api.types.is_timedelta64_dtype(ts.dtype):
        raise StructuralValidationError(f"column 'ts' is not datetime-like (dtype {ts.dtype})")
    parsed = naive_utc(ts, errors="coerce")
    bad = (ts.notna() & parsed.isna()).to_numpy(dtype=bool)
    return parsed, bad
