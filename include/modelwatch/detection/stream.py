"""The per-row score stream of replayed series: pooled surprise, one detection per period.

Why: arbitrary series (NAB, backfills) are judged row by row, not hour by hour. A row's score
is the tail of the last few rows' pooled surprise against the model's long-run distribution,
or of the row alone when that is extreme; one detection per refractory period. See
docs/detection.md for the rules and the data behind them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from modelwatch.config import DetectionConfig
from modelwatch.detection.detector import empirical_log_tail


@dataclass
class StreamState:
    """What the score stream remembers between batches of one series: the last surprises (for
    the pooled tail) and how many rows ago it last fired (for the refractory period)."""

    recent: np.ndarray = field(default_factory=lambda: np.zeros(0))
    since_fire: int | None = None  # rows since the last detection; None = never fired


#: The log10 tail at which the stream score reads 0.5: score = L / (L + SCORE_HALF_LOG10).
SCORE_HALF_LOG10 = 4.0


def pooled_log_tail(u: np.ndarray, k: int) -> np.ndarray:
    """Per row: log P(sum of k typical surprises >= the sum of the last k), i.e. how unusual
    the recent run of scores is against the model's long-run score distribution (surprises
    -log(1 - p) of typical rows are exponential with mean 1, so their sum is gamma). A
    sustained moderate shift, which no single row reveals, adds up here."""
    from scipy.special import (  # lazy: keeps `import modelwatch.detection.stream` light
        gammaincc,
        gammaln,
    )

    total = pd.Series(u).rolling(k, min_periods=1).sum().to_numpy()
    n = pd.Series(np.ones(len(u))).rolling(k, min_periods=1).sum().to_numpy()
    with np.errstate(divide="ignore"):
        exact = np.log(gammaincc(n, total))
    # far in the tail gammaincc underflows: use its leading term
    approx = -total + (n - 1.0) * np.log(np.maximum(total, 1e-300)) - gammaln(n)
    return np.where(np.isfinite(exact), exact, approx)


def to_score(log10_tail: np.ndarray) -> np.ndarray:
    """Map a tail's -log10 (0 = typical, 4 = one in 10,000) to [0, 1) without saturating, so
    scores stay comparable across models and extremes still rank."""
    lt = np.maximum(np.asarray(log10_tail, dtype=float), 0.0)
    with np.errstate(invalid="ignore"):  # inf / inf: an infinitely unlikely row scores 1
        return np.where(np.isposinf(lt), 1.0, lt / (lt + SCORE_HALF_LOG10))


def stream_scores(
    log_tail: np.ndarray,
    state: StreamState,
    cfg: DetectionConfig,
    pooled_ref: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn row log tails into the score stream and its detections; returns (score, fired,
    anomalous) and updates `state`.

    The score is the tail of the last `stream_rows` rows' pooled surprise against the
    model's long-run distribution of such sums (`pooled_ref`; a gamma when None), or of the
    row alone when that is extreme (`single_row_margin`). A lone moderately odd row does not
    count: on spiky series such rows were most of the false alarms (docs/detection.md).
    A detection fires when the score reaches `row_threshold` and the last detection is at
    least `refractory_rows` rows back; during the refractory period scores are damped and kept
    below the threshold, because an operator (and NAB) counts only the first detection of an
    incident and every further one is noise. Everything here counts rows, not hours, so a
    series behaves the same whatever its sampling rate. `anomalous` marks rows at or above
    the threshold (fired or not): they are kept out of later training.
    """
    u = -np.asarray(log_tail, dtype=float)
    k = cfg.stream_rows
    pad = state.recent[-(k - 1) :] if k > 1 else np.zeros(0)
    if pooled_ref is None:
        pooled = -pooled_log_tail(np.r_[pad, u], k)[len(pad) :]
    else:
        sums = pd.Series(np.r_[pad, u]).rolling(k, min_periods=1).sum().to_numpy()[len(pad) :]
        pooled = -empirical_log_tail(pooled_ref, sums)
    # A lone row counts only when its own tail is `single_row_margin` decades beyond what
    # the pooled tail needs: an 80-sigma spike pages, a 1-in-1,000 blip on a spiky series
    # does not.
    single = u / np.log(10.0) - cfg.single_row_margin
    score = to_score(np.maximum(pooled / np.log(10.0), single))
    anomalous = score >= cfg.row_threshold
    fired = np.zeros(len(score), dtype=bool)
    quiet = np.zeros(len(score), dtype=bool)
    since = state.since_fire
    last = None if since is None else -since  # row index of the last detection (may be < 0)
    for i in np.flatnonzero(anomalous):
        if last is None or i - last >= cfg.refractory_rows:
            fired[i] = True
            last = i
    fires = np.flatnonzero(fired)
    if since is not None:
        fires = np.r_[-since, fires]
    for f in fires:  # rows after a detection, within the refractory period
        quiet[max(f + 1, 0) : max(f + cfg.refractory_rows, 0)] = True
    quiet &= ~fired
    # Damped echoes stay below the threshold, so "score >= row_threshold" is exactly
    # `is_anomaly` and a threshold sweep over the score can only do better than the decisions.
    below = np.nextafter(cfg.row_threshold, 0.0)
    out = np.where(quiet, np.minimum(score * cfg.refractory_damp, below), score)
    state.recent = np.r_[state.recent, u][-max(k - 1, 1) :]
    state.since_fire = None if last is None else len(score) - last
    return out, fired, anomalous
