"""New normal: when a model's baseline moves, decided from stored facts only.

A lasting level change (a deploy that legitimately moves latency, a traffic step) is anomalous
at first and pages. Once the new level has held for `fleet_life.new_normal_hours` (wall time,
shorter after a deploy), or at once when an operator accepts it, the model's baseline moves:
from the decision on, its detectors learn from the rows since the change's onset (`since`),
including the anomalous hours of the change itself, and an open anomaly alert resolves saying
so. A ramp (a memory leak) never "held" and keeps paging.

The decision for hour h reads only what is stored for the hours before h (scores, versions),
so a rerun of h decides the same, and an hour before a decision never sees it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from modelwatch.config import FleetLifeConfig, Settings
from modelwatch.run import HOUR

AUTO, OPERATOR = "auto", "operator"
BASELINE_COLUMNS = ["model_id", "decided_hour", "since", "source", "actor", "reason", "recorded_at"]


@dataclass(frozen=True)
class Baseline:
    """From `decided_hour` on, the model's detectors learn from rows at or after `since`."""

    model_id: str
    decided_hour: datetime
    since: datetime
    source: str = AUTO
    actor: str | None = None
    reason: str = ""


def _z_by_metric(detail: str | None) -> dict[str, float]:
    try:
        items = json.loads(detail or "[]")
    except ValueError:
        return {}
    return {
        e["metric"]: float(e["robust_z"])
        for e in items
        if isinstance(e, dict) and e.get("robust_z") is not None and "metric" in e
    }


#: |robust z| from which a metric counts as moved (explanations' scale): a changed level stays
#: beyond it even in hours whose score dips under the threshold.
Z_LEVEL = 3.0


def _scored(rows: pd.DataFrame, start: datetime | None, end: datetime) -> pd.DataFrame:
    hours = pd.to_datetime(rows["hour"])
    keep = (rows["status"] == "scored") & (hours < pd.Timestamp(end))
    if start is not None:
        keep &= hours >= pd.Timestamp(start)
    return rows[keep].assign(hour=hours[keep]).sort_values("hour")


def streak_start(
    rows: pd.DataFrame, hour: datetime, floor: datetime | None, min_anomalous: int = 1
) -> datetime | None:
    """The onset (first anomalous hour) of the change the model is in at `hour`: the run of
    scored hours ending at `hour` - 1h in which every hour is anomalous or still at the new
    level (a metric moved at the latest anomalous hour, |z| >= `Z_LEVEL`, is still beyond it
    on the same side: a changed level whose score hovers round the threshold is one change).
    None when the model is back, or the run has fewer than `min_anomalous` anomalous hours.
    Hours not scored neither break nor extend it; hours before `floor` do not count."""
    scored = _scored(rows, floor, hour)
    anomalous = scored[scored["is_anomaly"].astype(bool)]
    if anomalous.empty:
        return None
    moved = {
        m: np.sign(z)
        for m, z in _z_by_metric(anomalous["explanation"].iloc[-1]).items()
        if abs(z) >= Z_LEVEL
    }

    def at_level(r: object) -> bool:
        if bool(r.is_anomaly):  # type: ignore[attr-defined]
            return True
        z = _z_by_metric(r.explanation)  # type: ignore[attr-defined]
        return any(sign * z.get(m, 0.0) >= Z_LEVEL for m, sign in moved.items())

    start, n = None, 0
    for r in reversed(list(scored.itertuples(index=False))):
        if not at_level(r):
            break
        if bool(r.is_anomaly):
            start, n = r.hour.to_pydatetime(), n + 1
    return start if n >= min_anomalous else None


def level_held(rows: pd.DataFrame, start: datetime, end: datetime, max_drift: float) -> bool:
    """Whether the change is a level, not a ramp: some metric sits beyond `Z_LEVEL` on one side
    in every scored hour of [start, end), as far out in the window's second half as in its
    first (medians within `max_drift` of its size). A memory leak's ramp never held."""
    window = _scored(rows, start, end)
    zs = [(r.hour, _z_by_metric(r.explanation)) for r in window.itertuples(index=False)]
    if len(zs) < 2:
        return False
    mid = pd.Timestamp(start + (end - start) / 2)
    for m in sorted({m for _, z in zs for m in z}):
        values = [(h, z.get(m, 0.0)) for h, z in zs]
        overall = float(np.median([v for _, v in values]))
        if abs(overall) < Z_LEVEL or any(np.sign(overall) * v < Z_LEVEL for _, v in values):
            continue
        first = [v for h, v in values if h < mid]
        second = [v for h, v in values if h >= mid]
        if not first or not second:
            continue
        if abs(float(np.median(second)) - float(np.median(first))) <= max_drift * abs(overall):
            return True
    return False


def decide(
    scores: pd.DataFrame,
    deploys: Mapping[str, Sequence[datetime]],
    hour: datetime,
    cfg: FleetLifeConfig,
    current: Mapping[str, Baseline] | None = None,
    min_anomalous: int = 2,
) -> list[Baseline]:
    """The baselines that move at `hour`: models whose anomalous run, ending the hour before,
    has lasted the persistence (wall time; the deploy persistence if the model's version
    changed within an hour of the run's onset) and whose level held. The run must hold at
    least `min_anomalous` anomalous hours (the anomaly rule's n): it paged before it moves."""
    current = current or {}
    out = []
    for model_id, rows in scores.groupby("model_id", sort=True):
        prior = current.get(str(model_id))
        floor = prior.decided_hour if prior is not None else None
        start = streak_start(rows, hour, floor, min_anomalous)
        if start is None:
            continue
        near = [d for d in deploys.get(str(model_id), ()) if abs(d - start) <= HOUR]
        hours = min(cfg.new_normal_hours, cfg.deploy_new_normal_hours) if near else None
        hours = hours or cfg.new_normal_hours
        held_for = hour - start
        if held_for < timedelta(hours=hours):
            continue
        if not level_held(rows, hour - timedelta(hours=hours), hour, cfg.max_level_drift):
            continue
        why = f"the new level held {held_for / HOUR:g} h" + (" after a deploy" if near else "")
        out.append(Baseline(str(model_id), hour, start, AUTO, None, why))
    return out


def in_effect(moves: Sequence[Baseline], hour: datetime, keep_days: int) -> dict[str, Baseline]:
    """Each model's latest move decided at or before `hour` whose onset is within `keep_days`
    + 1 of it (older moves no longer shape any detector's history)."""
    oldest = hour - timedelta(days=keep_days + 1)
    out: dict[str, Baseline] = {}
    for b in sorted(moves, key=lambda b: (b.model_id, b.decided_hour)):
        if b.decided_hour <= hour and b.since >= oldest:
            out[b.model_id] = b
    return out


def baselines_frame(moves: Sequence[Baseline], recorded_at: datetime | None) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "model_id": b.model_id,
                "decided_hour": b.decided_hour,
                "since": b.since,
                "source": b.source,
                "actor": b.actor,
                "reason": b.reason,
                "recorded_at": recorded_at,
            }
            for b in moves
        ],
        columns=BASELINE_COLUMNS,
    )
    for col in ("decided_hour", "since", "recorded_at"):
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[us]")
    return frame


def lookback_hours(cfg: FleetLifeConfig) -> int:
    """How many hours of scores a decision reads: a whole persistence window twice, and a day
    for the hours not scored in between."""
    return 2 * max(cfg.new_normal_hours, cfg.deploy_new_normal_hours) + 24


def decide_at(
    hour: datetime,
    scores: pd.DataFrame,
    deploys: Mapping[str, Sequence[datetime]],
    current: Mapping[str, Baseline],
    accepted: Collection[str],
    settings: Settings,
) -> list[Baseline]:
    """The automatic moves of `hour`, from the recent `scores` of the models with an anomalous
    hour among them (`lookback_hours` of them), their `deploys`, the baselines in effect the
    hour before, and the models an operator accepted a move for at this very hour (an
    operator's accept wins over the rule: one move per hour)."""
    if not len(scores):
        return []
    moves = decide(scores, deploys, hour, settings.fleet_life, current, settings.alerts.anomaly.n)
    return [b for b in moves if b.model_id not in set(accepted)]


def since_and_decided(baselines: Mapping[str, Baseline]) -> dict[str, tuple[datetime, datetime]]:
    """model -> (since, decided hour): what the training history keeps of each baseline."""
    return {m: (b.since, b.decided_hour) for m, b in baselines.items()}


def to_json(baselines: Mapping[str, Baseline]) -> str:
    """The baselines in effect, as staged for the detect shards: model -> [since, decided]."""
    out = {
        m: [f"{since:%Y-%m-%dT%H}", f"{decided:%Y-%m-%dT%H}"]
        for m, (since, decided) in since_and_decided(baselines).items()
    }
    return json.dumps(out, sort_keys=True)


def from_json(text: str) -> dict[str, tuple[datetime, datetime]]:
    """`to_json`'s baselines back (model -> (since, decided hour))."""
    raw = json.loads(text) if text else {}
    return {m: (datetime.fromisoformat(a), datetime.fromisoformat(b)) for m, (a, b) in raw.items()}
