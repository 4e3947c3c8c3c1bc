"""The metrics' one input edge: every frame a source yields passes here before a stage sees it.

Why one place: sources differ in everything a stage should not care about. Column names (the
config's map; a database may also answer in upper case), time columns (naive or zone-aware,
`timestamptz`, text, a driver's Python datetimes), numeric types (integers, decimals, text) and
which built-in metrics exist at all (`source.metrics`). Here the frame becomes the input
contract of `schema`: our column names in one order, `ts` naive UTC (`modelwatch.timestamps`),
metrics as float64, ids as text, and a built-in the fleet does not report as an empty column,
so no stage has to ask which metrics there are.

Nothing is lost on the way: a column holding a value that cannot be read as its type (a
garbled time, `n/a` in a metric) is passed on as delivered, and the validation gate judges it
cell by cell, quarantining only the model that sent it (`ingest/coerce.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import SourceConfig
from modelwatch.timestamps import naive_utc


def column_dtype(name: str) -> str:
    """The pandas dtype one of our columns is staged with: ids and versions are text, every
    other column the extract reads is a metric (built-in or declared in the config)."""
    if name == schema.TS:
        return "datetime64[us]"
    if name in (schema.MODEL_ID, schema.MODEL_VERSION):
        return "str"
    return "float64"


def typed_empty(columns: Sequence[str]) -> pd.DataFrame:
    """No rows, but real column types. An empty warehouse result has object columns, which
    Arrow writes as type `null`; a Parquet file whose first part is that cannot take the next
    part's strings (`null vs string`), nor be filtered by model id."""
    return pd.DataFrame({c: pd.Series([], dtype=column_dtype(c)) for c in columns})


def renamed(raw: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """`raw`'s columns named ours (`names`: ours -> theirs), matched without regard to case
    (Snowflake answers unquoted names in upper case); columns not in `names` are dropped."""
    theirs = {str(c).lower(): c for c in raw.columns}
    picked = {ours: theirs[t.lower()] for ours, t in names.items() if t.lower() in theirs}
    out = raw[list(picked.values())]
    out.columns = list(picked)
    return out


def times(values: pd.Series) -> pd.Series:
    """A time column as naive UTC, unless a value in it cannot be read as a time: then as
    delivered, for the gate to name (a column of numbers, whose unit is a guess, too)."""
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_timedelta64_dtype(
        values.dtype
    ):
        return values
    parsed = naive_utc(values, errors="coerce")
    return values if bool((values.notna() & parsed.isna()).any()) else parsed


def numbers(values: pd.Series) -> pd.Series:
    """A metric column as float64, unless a value in it is not a number: then as delivered."""
    if pd.api.types.is_float_dtype(values.dtype) and values.dtype == np.float64:
        return values
    if pd.api.types.is_bool_dtype(values.dtype):
        return values
    as_num = pd.to_numeric(values, errors="coerce")
    if bool((values.notna() & as_num.isna()).any()):
        return values
    return as_num.astype("float64")


def ids(values: pd.Series) -> pd.Series:
    """Model ids (and versions) as text; a missing one stays missing (the gate counts it)."""
    if pd.api.types.is_string_dtype(values.dtype):
        return values
    return values.where(values.isna(), values.astype(str)).astype(object)


def metrics_frame(raw: pd.DataFrame, src: SourceConfig, mapped: bool = True) -> pd.DataFrame:
    """A source's rows as the input contract has them (see the module). `mapped`: the frame
    carries the source's column names (`source.columns`); False when a source builds its
    frame under our names already (Prometheus)."""
    names = {c: (src.column(c) if mapped else c) for c in src.all_columns}
    frame = renamed(raw, names).reset_index(drop=True)
    for name in src.absent:  # not reported by this fleet: neither required nor watched
        frame[name] = np.nan
    columns = [c for c in src.all_columns if c in frame.columns]
    frame = frame[columns]
    if frame.empty:
        return typed_empty(columns)
    converted: dict[str, pd.Series] = {}
    for c in columns:
        if c == schema.TS:
            converted[c] = times(frame[c])
        elif c in (schema.MODEL_ID, schema.MODEL_VERSION):
            converted[c] = ids(frame[c])
        else:
            converted[c] = numbers(frame[c])
    return pd.DataFrame(converted, columns=columns)
