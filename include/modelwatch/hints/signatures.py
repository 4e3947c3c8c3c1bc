"""New and surging log signatures of an alert's model, from the stored hourly counts.

A signature is a hint when, in the hours from just before the anomaly began to now, it is
**new** (the model never logged it in the baseline window of the day's templates) or
**surging**: its count in some hour is at least `surge_ratio` times its usual count for that
hour of day and `surge_sigmas` Poisson standard deviations above it, and at least `min_count`.
Why both: a ratio alone fires on tiny counts (1 -> 3), a deviation alone on huge steady ones
(10,000 -> 10,500); log counts are roughly Poisson, so `usual + k * sqrt(usual)` is "improbable"
and the ratio is "big enough to matter".

Score = level x novelty x volume x specificity: errors over warnings over info, new over
surging, more lines over fewer (log scale, full at 100 an hour), and a signature that also just
appeared on healthy models (a fleet-wide harmless message) counts less.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import pandas as pd

from modelwatch.config import HintsConfig
from modelwatch.hints.model import LOG_SIGNATURE, AlertRef, Hint, hhmm
from modelwatch.run import HOUR

LEVEL_WEIGHT = {"FATAL": 1.0, "ERROR": 1.0, "WARN": 0.7, "INFO": 0.35, "DEBUG": 0.2}
NEW, SURGING = "new", "surging"
NOVELTY = {NEW: 1.0, SURGING: 0.8}
SHOWN_CHARS = 160


def is_surge(now: float, usual: float, cfg: HintsConfig) -> bool:
    return (
        now >= cfg.min_count
        and now >= cfg.surge_ratio * max(usual, 1.0)
        and now >= usual + cfg.surge_sigmas * math.sqrt(max(usual, 1.0))
    )


def volume(n: float) -> float:
    return min(1.0, math.log10(1.0 + n) / 2.0)


class Signatures:
    """The window's counts and the day's baseline, indexed once for every alert of a run."""

    def __init__(
        self,
        counts: pd.DataFrame,
        baseline: pd.DataFrame,
        baseline_days: int,
        anomalous: set[str],
    ) -> None:
        self.counts = counts
        self.days = baseline_days
        self.known = set(zip(baseline["model_id"], baseline["template_id"], strict=True))
        keys = zip(  # columns as lists: itertuples over Arrow-backed text is slow
            baseline["model_id"].tolist(),
            baseline["template_id"].tolist(),
            baseline["level"].tolist(),
            baseline["hour_of_day"].astype("int64").tolist(),
            strict=True,
        )
        self.usual = dict(zip(keys, baseline["total"].astype("float64").tolist(), strict=True))
        self.by_model = {m: g for m, g in counts.groupby("model_id")} if len(counts) else {}
        # healthy models on which a signature appears without being in their baseline
        fresh: dict[str, set[str]] = {}
        for r in counts[["model_id", "template_id"]].drop_duplicates().itertuples(index=False):
            if (r.model_id, r.template_id) not in self.known and r.model_id not in anomalous:
                fresh.setdefault(r.template_id, set()).add(r.model_id)
        self.healthy_fresh = fresh
        #: Lower-cased text of the signatures new to each model in the window.
        self.fresh_text: dict[str, set[str]] = {}
        for r in (
            counts[["model_id", "template_id", "template"]]
            .drop_duplicates()
            .itertuples(index=False)
        ):
            if (r.model_id, r.template_id) not in self.known:
                self.fresh_text.setdefault(r.model_id, set()).add(str(r.template).lower())

    def hints(self, alert: AlertRef, hour: datetime, cfg: HintsConfig) -> list[Hint]:
        g = self.by_model.get(alert.model_id)
        if g is None:
            return []
        g = g[(g["hour"] >= alert.began - HOUR) & (g["hour"] <= hour)]
        out: list[Hint] = []
        for (tid, level), rows in g.groupby(["template_id", "level"], sort=True):
            best = None
            for r in rows.itertuples(index=False):
                h = pd.Timestamp(r.hour)
                usual = self.usual.get((alert.model_id, tid, level, h.hour), 0.0) / self.days
                new = (alert.model_id, tid) not in self.known
                if (new and r.n >= 1) or is_surge(float(r.n), usual, cfg):
                    cand = (float(r.n), usual, NEW if new else SURGING, r)
                    if best is None or cand[0] > best[0]:
                        best = cand
            if best is None:
                continue
            n, usual, status, r = best
            spread = len(self.healthy_fresh.get(tid, ()))
            score = LEVEL_WEIGHT.get(str(level), 0.4) * NOVELTY[status] * volume(n) / (1.0 + spread)
            first = rows["first_ts"].min()
            text = str(r.template)
            shown = text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"
            out.append(
                Hint(
                    LOG_SIGNATURE,
                    f'{status} {level} log signature "{shown}": {int(n)} lines in '
                    f"{pd.Timestamp(r.hour):%H}:00 (usual {usual:.1f}), first seen {hhmm(first)}",
                    score,
                    {
                        "template_id": tid,
                        "template": text,
                        "level": level,
                        "status": status,
                        "now": int(n),
                        "usual": round(usual, 2),
                        "first_seen": first,
                        "examples": json.loads(r.examples or "[]"),
                        "healthy_models_with_it": spread,
                    },
                )
            )
        return out
