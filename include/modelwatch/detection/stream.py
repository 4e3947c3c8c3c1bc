"""Per-row scores of arbitrary series (NAB files, backfills): forest, likelihood, breach.

Why a separate scorer: the hourly DAG judges hours of our serving schema; a replayed series of
any shape is judged row by row, and NAB counts the first row that fires. The pieces that hold
up on held-out files (docs/detection.md, "tuning protocol") are few: a forest on the value,
Numenta's anomaly likelihood of its calibrated score (recent scores against the series' own
long-run mean and spread), a range breach (a value beyond anything in the training window,
where a forest's path lengths saturate) and a refractory period after each detection.

Causal in hourly batches: the rows of clock hour h are scored by state frozen at a refresh
before h (calibration reference, likelihood mean and spread, training range, and the forest,
refitted when the rows it learnt from have all been replaced); the moving average and the
refractory period use only the row itself and earlier rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from modelwatch.config import DetectionConfig
from modelwatch.detection.detector import empirical_log_tail
from modelwatch.detection.scorer import Scorer, fit_scorer

#: Numenta's floors on the likelihood's long-run distribution (nupic anomaly_likelihood.py
#: estimateNormal): a file whose scores never moved is not made infinitely sensitive.
LIKELIHOOD_MIN_MEAN = 0.03
LIKELIHOOD_MIN_VAR = 3e-4
#: Numenta's yellow zone: a red-zone tail right after another is replaced by this one, so a run
#: of red rows fires once (nupic _filterLikelihoods).
YELLOW_TAIL = 1e-3
#: Numenta's red zone: a likelihood tail of at most 10^-5 (score 0.5).
RED_TAIL = 1e-5
#: Score = log(tail) / log(1e-10), Numenta's log scaling (NAB's numenta detector): 0.5 is a
#: one-in-10^5 tail, the red zone.
LOG_TAIL_FLOOR = 1e-10
#: A calibrated forest score of 1 is a tail of 10^-6: beyond it the forest no longer ranks.
CALIBRATION_DECADES = 6.0


@dataclass(frozen=True)
class Segment:
    """Rows [start, stop) of a sorted series, scored by state refreshed on rows before start."""

    start: int
    stop: int


def fit_schedule(ts: np.ndarray, cfg: DetectionConfig) -> list[Segment]:
    """Where to refresh, from timestamps alone: at hour boundaries, first once
    `stream_min_rows` rows exist, then after as many new rows as the last refresh had (warm-up
    doubles) or `stream_refit_rows`, whichever is fewer. Rows, not hours: a series scores the
    same at any sampling rate (`bench_nab.py --stretch`)."""
    hours = pd.to_datetime(ts).floor("h")
    bounds = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]]) if len(hours) else []
    fits: list[int] = []
    for b in bounds:
        if not fits:
            if b >= cfg.stream_min_rows:
                fits.append(int(b))
        elif b - fits[-1] >= min(cfg.stream_refit_rows, fits[-1]):
            fits.append(int(b))
    if not fits:  # never enough rows: every row stays at "no opinion"
        return []
    stops = [*fits[1:], len(hours)]
    return [Segment(a, z) for a, z in zip(fits, stops, strict=True)]


def calibrated(ref: np.ndarray, raw: np.ndarray, cfg: DetectionConfig) -> np.ndarray:
    """Raw scores as [0, 1]: -log10 of their tail against the training rows' scores (`ref`,
    sorted; exponential beyond its `tail_quantile`) over `CALIBRATION_DECADES`. The
    likelihood needs a score whose top is spread out, not the ECDF's pile-up at 1."""
    lt = empirical_log_tail(ref, raw, tail_quantile=cfg.tail_quantile)
    return np.clip(-lt / np.log(10.0) / CALIBRATION_DECADES, 0.0, 1.0)


def moving_average(x: np.ndarray, k: int) -> np.ndarray:
    """Trailing mean of the last k values (fewer at the start)."""
    return pd.Series(x).rolling(k, min_periods=1).mean().to_numpy()


def likelihood_params(history: np.ndarray, cfg: DetectionConfig) -> tuple[float, float]:
    """Mean and spread of the short moving average of the score over the last
    `likelihood_long` rows, with Numenta's floors."""
    ma = moving_average(history, cfg.likelihood_short)[-cfg.likelihood_long :]
    mean = max(float(np.mean(ma)), LIKELIHOOD_MIN_MEAN) if len(ma) else LIKELIHOOD_MIN_MEAN
    var = max(float(np.var(ma)), LIKELIHOOD_MIN_VAR) if len(ma) else LIKELIHOOD_MIN_VAR
    return mean, float(np.sqrt(var))


def likelihood_tail(ma: np.ndarray, mean: float, std: float) -> np.ndarray:
    """Numenta's tail probability of the moving average (values below the mean mirrored)."""
    from scipy.special import erfc  # lazy: keeps `import modelwatch.detection.stream` light

    z = np.abs(ma - mean) / std
    return 0.5 * erfc(z / np.sqrt(2.0))


def red_zone_filter(tail: np.ndarray, prev: float) -> np.ndarray:
    """A red-zone tail right after a red-zone tail (unfiltered) reads as yellow: a sustained
    anomaly fires once, on its first row."""
    red = LOG_TAIL_FLOOR**0.5
    before = np.r_[prev, tail[:-1]]
    return np.where((tail <= red) & (before <= red), YELLOW_TAIL, tail)


def log_score(tail: np.ndarray) -> np.ndarray:
    """Numenta's log scaling of a tail to [0, 1]."""
    return np.clip(np.log(tail + LOG_TAIL_FLOOR) / np.log(LOG_TAIL_FLOOR), 0.0, 1.0)


def refractory(score: np.ndarray, cfg: DetectionConfig) -> tuple[np.ndarray, np.ndarray]:
    """Detections and the score column: a row at or above `row_threshold` fires unless such a
    row lies within the `refractory_rows` rows before it (so each hit, fired or not, extends
    the dead time). NAB and on-call both count only the first detection of an incident and
    charge every further one.

    A row that fires scores 1; rows in the dead time keep `refractory_damp` of their score,
    capped below the threshold; the others keep theirs (all below it). So `score >=
    row_threshold` is exactly `is_anomaly`, and a threshold sweep over the column sees the
    decisions as they are: a ranking among fired rows would let a stricter threshold drop the
    weaker hits while keeping the dead time they started, a decision no threshold makes."""
    hit = score >= cfg.row_threshold
    r = cfg.refractory_rows
    if r < 1:
        return np.where(hit, 1.0, score), hit
    csum = np.r_[0, np.cumsum(hit)]
    idx = np.arange(len(score))
    recent = csum[idx] - csum[np.maximum(idx - r, 0)]  # hits in rows [i-r, i-1]
    fired = hit & (recent == 0)
    quiet = (recent > 0) & ~fired
    below = np.nextafter(cfg.row_threshold, 0.0)
    damped = np.minimum(score * cfg.refractory_damp, below)
    return np.where(fired, 1.0, np.where(quiet, damped, score)), fired


def stream_series(
    values: np.ndarray, ts: np.ndarray, cfg: DetectionConfig, seed: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[Segment, np.ndarray]]]:
    """Score one sorted series (rows x metrics); returns (score, is_anomaly, the training rows
    of each segment for explanations). Rows before the first refresh score 0: no opinion yet.

    The forest is refitted only once the rows it learnt from have all been replaced (doubling
    while the series is young, then every `stream_train_rows`); in between, each refresh
    re-reads the latest training window through it. On one value a forest fitted a few days
    earlier ranks today's values as a fresh one does (the folds saw no loss), and its fit is
    the cost of a replay. A robust z is refitted at every refresh.
    """
    x = pd.DataFrame(np.asarray(values, dtype=float)).ffill().bfill().fillna(0.0).to_numpy()
    n = len(x)
    score = np.zeros(n)
    cal = np.full(n, np.nan)  # calibrated raw score of every row, as the stream saw it
    prev_tail = 1.0
    segments: list[tuple[Segment, np.ndarray]] = []
    scorer: Scorer | None = None
    fitted_at = learnt = 0
    for seg in fit_schedule(ts, cfg):
        lo = max(0, seg.start - cfg.stream_train_rows)
        train = x[lo : seg.start]
        if scorer is None or getattr(scorer, "cheap", False) or seg.start - fitted_at >= learnt:
            scorer = fit_scorer(train, cfg, seed, cfg.stream_trees, cfg.stream_max_samples)
            fitted_at, learnt = seg.start, len(train)
        train_raw = scorer.raw(train)
        ref = np.sort(train_raw)
        # Rows the stream never scored (before the first refresh) enter the likelihood's
        # history with their in-sample scores.
        past = cal[: seg.start].copy()
        gap = np.isnan(past[lo:])
        past[lo:][gap] = calibrated(ref, train_raw, cfg)[gap]
        past = past[~np.isnan(past)]
        mean, std = likelihood_params(past, cfg)
        now = calibrated(ref, scorer.raw(x[seg.start : seg.stop]), cfg)
        cal[seg.start : seg.stop] = now
        k = cfg.likelihood_short
        ma = moving_average(np.r_[past[-(k - 1) :] if k > 1 else [], now], k)[-len(now) :]
        tail = likelihood_tail(ma, mean, std)
        filtered = red_zone_filter(tail, prev_tail)
        prev_tail = float(tail[-1])
        s = log_score(filtered)
        # Range breach: a value beyond the training range (with a tolerance of its span).
        mn, mx = train.min(axis=0), train.max(axis=0)
        pad = cfg.breach_tolerance * (mx - mn)
        rows = x[seg.start : seg.stop]
        breach = ((rows > mx + pad) | (rows < mn - pad)).any(axis=1)
        score[seg.start : seg.stop] = np.where(breach, 1.0, s)
        segments.append((seg, train))
    out, fired = refractory(score, cfg)
    return out, fired, segments
