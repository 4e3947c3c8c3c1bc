"""Detection takes timezone-aware `ts` columns as naive UTC, the warehouse's convention."""

from __future__ import annotations

import pandas as pd
import pytest

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.score import STATUS_SCORED, detect_model, detect_models, naive_utc
from tests.unit.detection.frames import HOUR, week_and_hour


def _aware(frame: pd.DataFrame, tz: str = "UTC") -> pd.DataFrame:
    """The same instants as `frame` (naive UTC), stamped in `tz`."""
    return frame.assign(ts=frame[schema.TS].dt.tz_localize("UTC").dt.tz_convert(tz))


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rows, hist = week_and_hour("m")
    expected = detect_models(rows, hist, ["m"], HOUR, DetectionConfig())
    return rows, hist, expected


@pytest.mark.parametrize(
    ("rows_tz", "hist_tz"),
    [(None, "UTC"), ("UTC", "UTC"), ("UTC", None), (None, "Europe/Paris"), ("Asia/Tokyo", None)],
)
def test_aware_timestamps_score_exactly_like_naive_utc(frames, rows_tz, hist_tz) -> None:
    rows, hist, expected = frames
    rows = rows if rows_tz is None else _aware(rows, rows_tz)
    hist = hist if hist_tz is None else _aware(hist, hist_tz)
    out = detect_models(rows, hist, ["m"], HOUR, DetectionConfig())
    assert out.loc[0, "status"] == STATUS_SCORED
    pd.testing.assert_frame_equal(out, expected)
    verdict = detect_model("m", rows, hist, HOUR, DetectionConfig())
    assert verdict.score == expected.loc[0, "score"]


def test_naive_utc_converts_aware_stamps_and_keeps_naive_ones() -> None:
    naive = pd.DataFrame({schema.TS: pd.to_datetime(["2026-11-01 09:30"])})
    assert naive_utc(naive) is naive  # nothing to do: no copy
    paris = naive.assign(ts=pd.to_datetime(["2026-11-01 10:30"]).tz_localize("Europe/Paris"))
    assert naive_utc(paris)[schema.TS].tolist() == naive[schema.TS].tolist()
    text = naive.assign(ts=["2026-11-01T10:30:00+01:00"])
    assert naive_utc(text)[schema.TS].tolist() == naive[schema.TS].tolist()
