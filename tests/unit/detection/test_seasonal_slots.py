"""The baseline's seasonal slots: 24 hour-of-day levels, and a subclass may key them otherwise.

Weekly levels (day of week x hour) were measured by overriding `slots`
(docs/decisions/0002-weekly-seasonality.md); this checks the hook that measurement relies on, so
a measurement made again measures what it says.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.detection.features import SeasonalBaseline, feature_matrix
from tests.unit.detection.frames import DAY, serving_rows


class WeekendSlots(SeasonalBaseline):
    SLOTS = 48

    def slots(self, ts: pd.Series) -> np.ndarray:
        return ts.dt.hour.to_numpy() + 24 * (ts.dt.day_of_week.to_numpy() >= 5)


def _two_weeks_with_quiet_weekends() -> pd.DataFrame:
    frame = serving_rows("m", DAY - timedelta(days=14), 14 * 24 * 60)
    weekend = frame[schema.TS].dt.day_of_week >= 5
    frame.loc[weekend, "request_rate"] *= 0.5
    return frame


def _weekend_residual(baseline: SeasonalBaseline, frame: pd.DataFrame) -> float:
    rows = frame[frame[schema.TS].dt.day_of_week >= 5]
    resid = feature_matrix(rows)[:, 0] - baseline.levels[baseline.slots(rows[schema.TS]), 0]
    return float(np.median(resid))


def test_the_default_keeps_one_level_per_hour_of_day() -> None:
    history = _two_weeks_with_quiet_weekends()
    baseline = SeasonalBaseline(history)
    assert baseline.levels.shape[0] == 24
    # the weekend's halved traffic is a deviation from the hour's level (log 0.5 ~ -0.69)
    assert _weekend_residual(baseline, history) < -0.5


def test_a_subclass_keys_levels_by_its_own_slots() -> None:
    history = _two_weeks_with_quiet_weekends()
    baseline = WeekendSlots(history)
    assert baseline.levels.shape[0] == 48
    assert abs(_weekend_residual(baseline, history)) < 0.05
