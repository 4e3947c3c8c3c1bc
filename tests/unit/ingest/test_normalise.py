"""The metrics' one input edge: whatever a source delivers, stages see the input contract."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import SourceConfig
from modelwatch.ingest.normalise import metrics_frame

FOUR = ["request_rate", "latency_p99_ms", "error_rate", "cpu_util"]


def raw(n: int = 3, **cols: object) -> pd.DataFrame:
    base = {
        "MODEL_ID": ["a"] * n,
        "TS": pd.date_range("2026-11-01 09:00", periods=n, freq="5min", tz="Europe/Paris"),
        "request_rate": [1, 2, 3][:n],
        "latency_p99_ms": [Decimal("10.5")] * n,
        "error_rate": [0.0] * n,
        "cpu": ["0.5"] * n,
    }
    base.update(cols)
    return pd.DataFrame(base)


def test_a_frame_becomes_the_input_contract() -> None:
    """Mapped names (matched without regard to case), UTC times, float metrics, and every
    built-in the fleet does not report as an empty column."""
    src = SourceConfig(metrics=FOUR, columns={"cpu_util": "cpu"})
    got = metrics_frame(raw(), src)
    assert list(got.columns) == [schema.MODEL_ID, schema.TS, *schema.METRIC_NAMES]
    assert got[schema.TS].dt.tz is None
    assert got[schema.TS].iloc[0] == pd.Timestamp("2026-11-01 08:00")  # Paris is UTC+1
    for name in FOUR:
        assert got[name].dtype == np.float64
    assert got["cpu_util"].tolist() == [0.5] * 3
    for name in set(schema.METRIC_NAMES) - set(FOUR):
        assert got[name].isna().all()


def test_a_metric_the_fleet_does_not_list_is_dropped_even_when_delivered() -> None:
    src = SourceConfig(metrics=FOUR, columns={"cpu_util": "cpu"})
    got = metrics_frame(raw(memory_util=[0.9, 0.9, 0.9]), src)
    assert got["memory_util"].isna().all()


def test_unreadable_values_reach_the_gate_as_delivered() -> None:
    """A column with a value that is not its type is passed on untouched: the gate names the
    cell and quarantines only its model, instead of a null it could not tell apart."""
    src = SourceConfig(metrics=FOUR, columns={"cpu_util": "cpu"})
    got = metrics_frame(
        raw(cpu=["0.5", "n/a", "0.4"], TS=["2026-11-01T09:00Z", "later", None]), src
    )
    assert got["cpu_util"].tolist() == ["0.5", "n/a", "0.4"]
    assert got[schema.TS].tolist()[:2] == ["2026-11-01T09:00Z", "later"]
    assert pd.isna(got[schema.TS].iloc[2])


def test_text_times_and_naive_times_are_utc() -> None:
    src = SourceConfig(metrics=FOUR, columns={"cpu_util": "cpu"})
    text = metrics_frame(raw(TS=["2026-11-01T10:00:00+01:00"] * 3), src)
    naive = metrics_frame(raw(TS=pd.to_datetime(["2026-11-01 09:00"] * 3)), src)
    assert (
        text[schema.TS].tolist()
        == naive[schema.TS].tolist()
        == [pd.Timestamp("2026-11-01 09:00")] * 3
    )


def test_no_rows_keep_typed_columns() -> None:
    got = metrics_frame(raw(0), SourceConfig(metrics=FOUR, columns={"cpu_util": "cpu"}))
    assert got.empty and str(got[schema.TS].dtype).startswith("datetime64")
    assert got["cpu_util"].dtype == np.float64
