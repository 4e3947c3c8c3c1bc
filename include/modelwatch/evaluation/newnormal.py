"""New normal in a replay: the baseline moves the DAG would have decided, hour by hour.

Why: the DAG's extract step decides a model's baseline moves from its stored scores
(`detection.baselines.decide_hour`); a replay has no stored scores of its own, so without this
its detectors would never re-baseline and a backfill over a deploy would page for a week where
the DAG paged once. `ReplayBaselines` makes the same decision (`baselines.decide`) from the
replay's own verdicts, with the deploys of the replayed rows and, from a warehouse, the moves
operators accepted (`modelwatch baseline accept`), which no rule can re-derive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pandas as pd

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.detection.baselines import AUTO, Baseline, decide, in_effect, lookback_hours
from modelwatch.run import HOUR

#: (models, start, end) -> model -> the hours a new version first showed (`version_changes`).
Deploys = Callable[[Sequence[str], datetime, datetime], dict[str, list[datetime]]]


class ReplayBaselines:
    """The baselines in effect at each replayed hour, decided as `decide_hour` does."""

    def __init__(
        self, settings: Settings, deploys: Deploys, operator_moves: Sequence[Baseline] = ()
    ) -> None:
        self.settings = settings
        self.deploys = deploys
        self.moves: list[Baseline] = [b for b in operator_moves if b.source != AUTO]
        self.recent: list[pd.DataFrame] = []  # the verdicts of the last `lookback_hours`

    def __call__(self, hour: datetime, verdicts: pd.DataFrame | None) -> dict[str, Baseline]:
        """Record the previous hour's `verdicts` (`mw_scores` rows), then decide `hour`."""
        cfg, keep = self.settings.fleet_life, self.settings.detection.history_days
        window = lookback_hours(cfg)
        oldest = pd.Timestamp(hour - timedelta(hours=window))
        if verdicts is not None and len(verdicts):
            self.recent.append(verdicts)
        self.recent = [v for v in self.recent if pd.to_datetime(v["hour"]).max() >= oldest]
        current = in_effect(self.moves, hour - HOUR, keep)
        if self.recent:
            scores = pd.concat(self.recent, ignore_index=True)
            hours = pd.to_datetime(scores["hour"])
            scores = scores[(hours >= oldest) & (hours < pd.Timestamp(hour))]
            anomalous = sorted(scores.loc[scores["is_anomaly"].astype(bool), "model_id"].unique())
            scores = scores[scores["model_id"].isin(anomalous)]
            if anomalous:
                deploys = self.deploys(anomalous, hour - timedelta(hours=window), hour)
                moves = decide(scores, deploys, hour, cfg, current, self.settings.alerts.anomaly.n)
                accepted = {b.model_id for b in self.moves if b.decided_hour == hour}
                self.moves += [b for b in moves if b.model_id not in accepted]
        return in_effect(self.moves, hour, keep)


def frame_deploys(frame: pd.DataFrame) -> Deploys:
    """`version_changes` over a replayed frame's `model_version` column (none without it)."""
    if schema.MODEL_VERSION not in frame.columns:
        return lambda models, start, end: {}
    versions = frame[[schema.MODEL_ID, schema.TS, schema.MODEL_VERSION]].dropna()

    def deploys(models: Sequence[str], start: datetime, end: datetime) -> dict[str, list[datetime]]:
        ts = versions[schema.TS]
        own = versions[
            versions[schema.MODEL_ID].astype(str).isin(list(models))
            & (ts >= pd.Timestamp(start - HOUR))
            & (ts < pd.Timestamp(end))
        ]
        first = own.groupby([schema.MODEL_ID, schema.MODEL_VERSION])[schema.TS].min()
        out: dict[str, list[datetime]] = {}
        for (model_id, _), at in sorted(first.items(), key=lambda kv: kv[1]):
            if at >= pd.Timestamp(start):
                out.setdefault(str(model_id), []).append(at.to_pydatetime())
        return out

    return deploys
