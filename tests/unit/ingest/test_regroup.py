"""Regrouping a stream of rows in any order into sorted parts of models (`regroup.by_parts`),
against the same rows filtered and sorted in pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelwatch.ingest.normalise import typed_empty
from modelwatch.ingest.regroup import by_parts

COLUMNS = ["model_id", "ts", "model_version", "p95_latency_ms"]


def _rows(n: int, seed: int = 1) -> pd.DataFrame:
    """`n` rows of six models (one outside every part) in a shuffled order, some NaN, some
    versions missing."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "model_id": rng.choice([f"m{i}" for i in range(6)], n),
            "ts": pd.Timestamp("2026-11-01") + pd.to_timedelta(rng.integers(0, 600, n), "min"),
            "model_version": rng.choice(["v1", None], n),
            "p95_latency_ms": np.where(rng.random(n) < 0.1, np.nan, rng.normal(100, 5, n)),
        }
    )
    return frame.drop_duplicates(["model_id", "ts"]).reset_index(drop=True)


def test_each_part_holds_its_models_rows_sorted_and_nothing_else():
    rows = _rows(3_000)
    parts = [["m0", "m3"], ["m1"], ["m2", "m4", "absent"]]  # m5 is in no part
    frames = [rows.iloc[i : i + 400] for i in range(0, len(rows), 400)]
    got = list(by_parts(frames, parts))
    assert len(got) == len(parts)
    for part, frame in zip(parts, got, strict=True):
        want = (
            rows[rows["model_id"].isin(part)].sort_values(["model_id", "ts"]).reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(frame, want, check_dtype=False)
        assert frame["ts"].dtype.kind == "M" and frame["p95_latency_ms"].dtype == "float64"
    assert sum(len(f) for f in got) == rows["model_id"].isin([m for p in parts for m in p]).sum()


def test_a_part_without_rows_is_an_empty_typed_frame_and_empty_frames_count():
    rows = _rows(200)
    frames = [rows.iloc[:0], rows[rows["model_id"] == "m1"], rows.iloc[:0]]
    got = list(by_parts(frames, [["m0"], ["m1"], ["nobody"]]))
    assert [len(f) for f in got] == [0, (rows["model_id"] == "m1").sum(), 0]
    empty = typed_empty(COLUMNS)
    assert list(got[0].columns) == COLUMNS and (got[0].dtypes == empty.dtypes).all()
    only_empty = list(by_parts([rows.iloc[:0]], [["m0"]]))
    assert len(only_empty) == 1 and only_empty[0].empty


def test_no_frame_at_all_is_an_error_not_a_silent_empty_history():
    with pytest.raises(ValueError, match="at least one"):
        next(by_parts(iter([]), [["m0"]]))
