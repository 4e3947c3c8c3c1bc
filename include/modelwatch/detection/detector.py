"""Per-model anomaly detection: an Isolation Forest on the model's own history.

Hourly (the DAG, `detect_models`): a forest fitted on the model's trailing clean history (or
the day's cached one, `DetectorStore`) gives each minute a tail probability against the
training rows, pushed towards 1 when a feature leaves the range it took in training (a forest
cannot see that); the hour's score is the tail of its median minute (robust to a few odd
minutes), in [0, 1] and comparable across models: about 0.5 for a typical hour, near 1 for an
hour unlike anything in the model's history.

Per row (replay of arbitrary series, `stream_scores`): the row's tail and the tail of the last
few rows' pooled surprise against the model's long-run distribution, one detection per
refractory period. See docs/detection.md for the rules and the data behind them.

The explanation is independent of the forest: robust z-scores of each metric's hourly median
against the model's baseline for that hour of day, so on-call reads "p99 latency 840 ms against
a usual 120 ms" rather than a path length.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig, Settings
from modelwatch.detection.features import (
    GENERIC_CONTEXT_ROWS,
    SeasonalBaseline,
    clean_training_rows,
    generic_features,
    rows_per_day,
)
from modelwatch.warehouse import WarehouseSpec

STATUS_SCORED = "scored"
STATUS_INSUFFICIENT = "insufficient_history"
STATUS_QUARANTINED = "quarantined"
STATUS_NO_DATA = "no_data"


def model_seed(model_id: str, seed: int) -> int:
    """A stable per-model random state: reruns of an hour give the same forest."""
    return (zlib.crc32(model_id.encode()) ^ seed) & 0x7FFFFFFF


class PackedForest:
    """A fitted Isolation Forest as a few numpy arrays, scored without sklearn.

    Why: the hourly task loads one detector per model from the cache and scores 60 rows;
    unpickling sklearn trees and its per-tree Python loop cost more than the scoring itself.
    All trees are walked together, one level per step, so scoring is a handful of numpy ops.
    Path lengths match sklearn's `score_samples` (depth of the leaf plus the average path length
    of the samples left in it).
    """

    def __init__(
        self,
        feature: np.ndarray,
        threshold: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        value: np.ndarray,
        depth: int,
        norm: float,
    ) -> None:
        self.feature = feature  # (trees, nodes) int32: feature index in the input matrix
        self.threshold = threshold  # (trees, nodes) float64
        self.left = left  # (trees, nodes) int32: leaves point to themselves
        self.right = right
        self.value = value  # (trees, nodes) float64: path length of a leaf
        self.depth = int(depth)
        self.norm = float(norm)  # average path length of max_samples: sklearn's denominator

    @classmethod
    def from_sklearn(cls, forest: Any) -> PackedForest:
        trees = forest.estimators_
        size = max(t.tree_.node_count for t in trees)
        shape = (len(trees), size)
        feature = np.zeros(shape, dtype=np.int32)
        threshold = np.zeros(shape)
        left = np.tile(np.arange(size, dtype=np.int32), (len(trees), 1))
        right = left.copy()
        value = np.zeros(shape)
        depth = 0
        for i, (est, feats) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
            t = est.tree_
            n = t.node_count
            is_leaf = t.children_left[:n] < 0
            feature[i, :n] = np.where(is_leaf, 0, np.asarray(feats)[np.maximum(t.feature, 0)])
            threshold[i, :n] = t.threshold
            left[i, :n] = np.where(is_leaf, np.arange(n), t.children_left)
            right[i, :n] = np.where(is_leaf, np.arange(n), t.children_right)
            node_depth = np.zeros(n)
            for node in range(n):  # children come after parents in sklearn's node order
                if not is_leaf[node]:
                    node_depth[t.children_left[node]] = node_depth[node] + 1
                    node_depth[t.children_right[node]] = node_depth[node] + 1
            samples = t.n_node_samples[:n].astype(float)
            value[i, :n] = np.where(is_leaf, node_depth + _avg_path(samples), 0.0)
            depth = max(depth, int(node_depth.max()))
        norm = float(_avg_path(np.array([float(forest.max_samples_)]))[0])
        return cls(feature, threshold, left, right, value, depth, norm)

    #: Rows scored per pass: the (trees x rows) node arrays then stay in cache (~30 % faster
    #: than one pass over a few thousand rows).
    CHUNK_ROWS = 512

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Per row: sklearn's -score_samples (higher = more anomalous), in (0, 1]."""
        if len(x) > self.CHUNK_ROWS:
            step = self.CHUNK_ROWS
            return np.concatenate([self.raw(x[i : i + step]) for i in range(0, len(x), step)])
        if len(x) == 0:
            return np.zeros(0)
        n_trees, size = self.feature.shape
        x = np.ascontiguousarray(x, dtype=float)
        flat_x = x.ravel()
        row_base = (np.arange(len(x)) * x.shape[1])[None, :]
        feature = self.feature.ravel().astype(np.intp)
        threshold = self.threshold.ravel()
        left, right = self.flat_children()
        node = np.repeat((np.arange(n_trees) * size)[:, None], len(x), axis=1)  # flat ids
        for _ in range(self.depth):
            go_left = flat_x.take(row_base + feature.take(node)) <= threshold.take(node)
            node = np.where(go_left, left.take(node), right.take(node))
        mean_path = self.value.ravel().take(node).mean(axis=0)
        return 2.0 ** (-mean_path / self.norm) if self.norm > 0 else np.ones(len(x))

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the trees compactly (int16 node ids and features) and without caches."""
        state = {k: v for k, v in self.__dict__.items() if k != "_flat"}
        for k in ("feature", "left", "right"):
            state[k] = state[k].astype(np.int16 if state[k].max() < 2**15 else np.int32)
        return state

    def flat_children(self) -> tuple[np.ndarray, np.ndarray]:
        """Children as flat ids into the (trees x nodes) arrays (computed once, then kept)."""
        cached = getattr(self, "_flat", None)
        if cached is None:
            base = (np.arange(self.feature.shape[0]) * self.feature.shape[1])[:, None]
            cached = (
                (self.left + base).ravel().astype(np.intp),
                (self.right + base).ravel().astype(np.intp),
            )
            self._flat = cached
        return cached


def _avg_path(n: np.ndarray) -> np.ndarray:
    """Average path length of an unsuccessful search in a binary tree of n points (the IF
    paper's c(n)), as sklearn computes it."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def grow_forest(x: np.ndarray, n_estimators: int, max_samples: int, seed: int) -> PackedForest:
    """Grow an Isolation Forest (Liu, Ting & Zhou 2008) in numpy, all trees level by level.

    Why not sklearn here: its fit builds 100 estimator objects in Python (~0.1 s per forest),
    which dominates a long replay that refits thousands of times; this takes ~0.02 s and gives
    forests as close to sklearn's as two sklearn seeds are to each other (rank correlation of
    scores ~0.95, checked in tests). The algorithm is sklearn's: each tree draws `max_samples`
    rows without replacement; a node splits on a random feature among those not constant in
    it, at a uniform point between its min and max, until it holds one row or the height
    limit ceil(log2(max_samples)) is reached; a leaf's path length is its depth + c(rows left).
    Trees are complete binary trees (children of k at 2k+1, 2k+2).
    """
    rng = np.random.default_rng(seed)
    n, d = x.shape
    psi = min(max_samples, n)
    height = max(int(np.ceil(np.log2(max(psi, 2)))), 1)
    size = 2 ** (height + 1) - 1
    t = n_estimators
    rows = np.stack([rng.choice(n, psi, replace=False) for _ in range(t)])  # (t, psi)
    sample = x[rows]  # (t, psi, d)
    node = np.zeros((t, psi), dtype=np.int64)
    feature = np.zeros((t, size), dtype=np.int32)
    threshold = np.zeros((t, size))
    left = np.tile(np.arange(size, dtype=np.int32), (t, 1))
    right = left.copy()
    value = np.zeros((t, size))
    tree = np.arange(t)[:, None]
    for depth in range(height + 1):
        first, width = 2**depth - 1, 2**depth
        local = node - first
        live = (local >= 0) & (local < width)
        loc = np.clip(local, 0, width - 1)
        key = (tree * width + loc)[live]
        count = np.bincount(key, minlength=t * width).reshape(t, width)
        ids = first + np.arange(width)
        if depth == height:  # the last level only has leaves: no ranges, no random draws
            value[:, ids] = np.where(count > 0, depth + _avg_path(count.astype(float)), 0.0)
            break
        lo = np.full((t * width, d), np.inf)
        hi = np.full((t * width, d), -np.inf)
        # A 16-bit key gets numpy's radix sort (same stable order, several times faster).
        order = np.argsort(key.astype(np.int16) if t * width < 2**15 else key, kind="stable")
        k_sorted = key[order]
        vals = sample.reshape(-1, d)[np.flatnonzero(live.ravel())[order]]
        if len(k_sorted):
            starts = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
            lo[k_sorted[starts]] = np.minimum.reduceat(vals, starts, axis=0)
            hi[k_sorted[starts]] = np.maximum.reduceat(vals, starts, axis=0)
        lo, hi = lo.reshape(t, width, d), hi.reshape(t, width, d)
        varies = hi > lo
        feats = np.argmax(np.where(varies, rng.random((t, width, d)), -1.0), axis=2)
        split = (count > 1) & varies.any(axis=2)
        leaf = (count > 0) & ~split
        value[:, ids] = np.where(leaf, depth + _avg_path(count.astype(float)), 0.0)
        f_lo = np.take_along_axis(lo, feats[..., None], 2)[..., 0]
        f_hi = np.take_along_axis(hi, feats[..., None], 2)[..., 0]
        thr = np.where(split, f_lo + rng.random((t, width)) * np.where(split, f_hi - f_lo, 0), 0)
        feature[:, ids] = np.where(split, feats, 0)
        threshold[:, ids] = thr
        left[:, ids] = np.where(split, 2 * ids + 1, ids)
        right[:, ids] = np.where(split, 2 * ids + 2, ids)
        go = live & split[tree, loc]
        val = np.take_along_axis(sample, feats[tree, loc][..., None], 2)[..., 0]
        node = np.where(go, np.where(val <= thr[tree, loc], 2 * node + 1, 2 * node + 2), node)
    norm = float(_avg_path(np.array([float(psi)]))[0])
    return PackedForest(feature, threshold, left, right, value, height, norm)


def schema_columns(frame: pd.DataFrame) -> bool:
    """Whether a frame carries our serving schema (then the seasonal serving features apply)."""
    return all(m in frame.columns for m in schema.METRIC_NAMES)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """The numeric metric columns of any input: everything but the keys and the version."""
    skip = {schema.MODEL_ID, schema.TS, schema.MODEL_VERSION}
    return [
        c
        for c in frame.columns
        if c not in skip
        and not str(c).startswith("Unnamed:")  # a CSV's saved index is not a metric
        and pd.api.types.is_numeric_dtype(frame[c])
    ]


def empirical_log_tail(ref: np.ndarray, x: np.ndarray) -> np.ndarray:
    """log P(reference >= x) against a sorted reference sample, mid-rank for ties (so the many
    rows that sit exactly on the baseline read as typical, not extreme).

    Beyond the largest reference value the empirical tail would be flat; it is extended with
    an exponential tail fitted to the top 1 %, so extreme values still rank by how extreme they
    are. Logs keep that ranking where 1 - p underflows.
    """
    n = len(ref)
    x = np.asarray(x, dtype=float)
    below = np.searchsorted(ref, x, side="left")
    upto = np.searchsorted(ref, x, side="right")
    out = np.log(np.maximum(1.0 - (below + upto) / (2.0 * n), 0.5 / n))
    top = ref[-1]
    q = ref[int(0.99 * (n - 1))]
    scale = max((top - q) / max(np.log(0.01 * n + 1.0), 1e-9), 1e-6)
    beyond = x > top
    out[beyond] = np.log(0.5 / n) - (x[beyond] - top) / scale
    return out


@dataclass
class Detector:
    """A fitted per-model detector: its features, forest, calibration and training range.

    Two feature sets share everything else: our serving schema gets the seasonal, log-scaled
    deviations of `features.SeasonalBaseline` (tuned to serving telemetry); any other metrics
    (e.g. NAB's single `value`) get `features.generic_features` (value, difference, deviation
    from the short and long trailing mean), which need `context_rows` earlier rows.
    """

    forest: PackedForest
    metrics: tuple[str, ...]
    baseline: SeasonalBaseline | None  # the schema path; None = generic features
    train_raw: np.ndarray  # sorted raw scores of the training rows
    lo: np.ndarray  # per metric: the training range, for the beyond-range signal
    hi: np.ndarray
    center: np.ndarray  # per metric: training median and robust scale, for explanations
    scale: np.ndarray
    n_train_rows: int
    fitted_at: datetime | None = None
    #: Sorted sums of `stream_rows` consecutive training surprises: the long-run distribution
    #: that a run of recent scores is compared with (it carries the series' autocorrelation).
    pooled_ref: np.ndarray | None = None
    #: Generic path: rows per day when the history held enough days for seasonal features.
    period: int = 0
    #: Schema path: each feature's training range, and how strongly leaving it counts.
    feat_lo: np.ndarray | None = None
    feat_hi: np.ndarray | None = None
    beyond_gain: float = 0.0
    #: Schema path: each metric's explanation baseline per hour of day (24 x metrics), so
    #: an hour scored from the cache needs no pass over the history.
    hod_center: np.ndarray | None = None
    hod_scale: np.ndarray | None = None

    @property
    def context_rows(self) -> int:
        return 0 if self.baseline is not None else GENERIC_CONTEXT_ROWS + self.period + 1

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        if self.baseline is not None:
            return self.baseline.transform(frame)
        values = frame[list(self.metrics)].to_numpy(dtype=float)
        return generic_features(values, period=self.period)

    def log_tail(self, raw: np.ndarray) -> np.ndarray:
        """Per row: log(1 - p), p = the share of training rows that looked more normal."""
        return empirical_log_tail(self.train_raw, raw)

    def tail(self, raw: np.ndarray) -> np.ndarray:
        """Per row: the share of training rows that looked more normal (see `log_tail`)."""
        n = len(self.train_raw)
        below = np.searchsorted(self.train_raw, raw, side="left")
        upto = np.searchsorted(self.train_raw, raw, side="right")
        return (below + upto) / (2.0 * n)

    def beyond_range(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row: how far the furthest metric lies outside its training range, in units of
        that range. A forest cannot say this: every point beyond the training range falls in
        the same edge leaves, so a value 10x past the maximum scores like one just past it."""
        x = frame[list(self.metrics)].to_numpy(dtype=float)
        span = np.maximum(self.hi - self.lo, 1e-6 * np.maximum(np.abs(self.hi), 1.0))
        out = np.maximum(np.maximum(x - self.hi, self.lo - x), 0.0) / span
        return np.nan_to_num(out, nan=0.0).max(axis=1) if out.size else np.zeros(len(x))

    def feature_beyond(self, x: np.ndarray) -> np.ndarray:
        """Schema path, per row: how far the furthest feature lies outside the range it took in
        training, in the features' own unit (tolerance bands). A forest never splits on a
        feature that did not vary in training (a memory leak on a model whose memory sat
        inside its band all week), and treats everything past the range alike; this does not.
        """
        if self.feat_lo is None or self.feat_hi is None or len(x) == 0:
            return np.zeros(len(x))
        out = np.maximum(np.maximum(x - self.feat_hi, self.feat_lo - x), 0.0)
        # One band of grace: most features sit at exactly 0 all week, so without it a dip just
        # past its tolerance band (Sunday traffic) would count as "never seen" and page.
        out = np.maximum(out - 1.0, 0.0)
        return np.nan_to_num(out, nan=0.0).max(axis=1)

    def row_tail(self, frame: pd.DataFrame, beyond_gain: float | None = None) -> np.ndarray:
        """Tail probability of each row of `frame` (the hourly path: no context needed), with
        a row beyond the training range of the features pushed towards 1 (`feature_beyond`)."""
        x = self.features(frame)
        p = self.tail(self.forest.raw(x))
        gain = self.beyond_gain if beyond_gain is None else beyond_gain
        if gain > 0:
            p = 1.0 - (1.0 - p) * np.exp(-gain * self.feature_beyond(x))
        return p

    def row_log_tail(
        self, frame: pd.DataFrame, n_context: int = 0, beyond_gain: float = 0.0
    ) -> np.ndarray:
        """log(1 - tail) of each row of `frame[n_context:]`; earlier rows are context.

        With `beyond_gain` > 0, a row beyond the training range has its log tail lowered by
        gain * distance (in training ranges), so the further out, the more anomalous.
        """
        x = self.features(frame)[n_context:]
        lt = self.log_tail(self.forest.raw(x))
        if beyond_gain > 0:
            lt = lt - beyond_gain * self.beyond_range(frame.iloc[n_context:])
        return lt

    def hour_score(self, frame: pd.DataFrame) -> float:
        """The hour's score in [0, 1]: the tail of its median minute, so a few odd minutes do
        not make an anomalous hour but a sustained change does."""
        return float(np.median(self.row_tail(frame)))


def fit_forest(x: np.ndarray, cfg: DetectionConfig, seed: int) -> PackedForest:
    """The forest of `cfg.forest_impl`: numpy (fast, default) or sklearn (the reference)."""
    if cfg.forest_impl == "sklearn":
        from sklearn.ensemble import IsolationForest  # heavy import: only when detecting

        forest = IsolationForest(
            n_estimators=cfg.n_estimators,
            max_samples=min(cfg.max_samples, len(x)),
            random_state=seed,
        ).fit(x)
        return PackedForest.from_sklearn(forest)
    return grow_forest(x, cfg.n_estimators, min(cfg.max_samples, len(x)), seed)


def seasonal_period(ts: pd.Series, cfg: DetectionConfig) -> int:
    """Rows per day if the history spans `seasonal_days` days (so the same-time-yesterday
    deviation has been seen often enough to be learnt), else 0 (no seasonal features; also
    when `seasonal_days` is 0)."""
    t = pd.to_datetime(ts)
    if cfg.seasonal_days <= 0 or len(t) == 0:
        return 0
    if t.max() - t.min() < pd.Timedelta(days=cfg.seasonal_days):
        return 0
    return rows_per_day(t)


def _robust_center_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    center = np.nanmedian(x, axis=0)
    mad = 1.4826 * np.nanmedian(np.abs(x - center), axis=0)
    return center, np.maximum.reduce([mad, 0.01 * np.abs(center), np.full_like(center, 1e-9)])


def fit_detector(
    history: pd.DataFrame,
    cfg: DetectionConfig,
    model_id: str,
    metrics: list[str] | None = None,
    fitted_at: datetime | None = None,
) -> Detector:
    """Fit the forest on (at most `max_train_rows` of) the history and calibrate it.

    `metrics` None means: our serving schema if the frame has it, else every numeric column.
    The schema path subsamples the history at random (its features are hour-of-day deviations,
    so any row is as good as another); the generic path keeps the most recent rows, because an
    arbitrary series drifts and the recent past is the better picture of normal.
    """
    use_schema = metrics is None and schema_columns(history)
    period = 0
    metrics = list(schema.METRIC_NAMES) if use_schema else (metrics or metric_columns(history))
    if use_schema:
        rng = np.random.default_rng(model_seed(model_id, cfg.seed))
        baseline: SeasonalBaseline | None = SeasonalBaseline(history)
        train = history
        if len(train) > cfg.max_train_rows:
            idx = np.sort(rng.choice(len(train), size=cfg.max_train_rows, replace=False))
            train = train.iloc[idx]
        x = baseline.transform(train)
    else:
        baseline = None
        period = seasonal_period(history[schema.TS], cfg)
        # Features of the training rows need only `context` earlier rows (the longest window).
        context = GENERIC_CONTEXT_ROWS + period + 1
        values = history[metrics].to_numpy(dtype=float)[-(cfg.max_train_rows + context) :]
        x = generic_features(values, period=period)[-cfg.max_train_rows :]
        train = history.iloc[-cfg.max_train_rows :]
    packed = fit_forest(x, cfg, model_seed(model_id, cfg.seed))
    # Generic series calibrate on their latest rows only: scoring every training row costs as
    # much as growing the forest, and the recent past is the better picture of normal.
    calib = x if use_schema else x[-cfg.calibration_rows :]
    train_raw = packed.raw(calib)
    sorted_raw = np.sort(train_raw)
    u = -empirical_log_tail(sorted_raw, train_raw)
    pooled_ref = np.sort(pd.Series(u).rolling(cfg.stream_rows, min_periods=1).sum().to_numpy())
    values = train[metrics].to_numpy(dtype=float)
    center, scale = _robust_center_scale(values)
    return Detector(
        forest=packed,
        metrics=tuple(metrics),
        baseline=baseline,
        train_raw=sorted_raw,
        lo=np.nanmin(values, axis=0),
        hi=np.nanmax(values, axis=0),
        feat_lo=np.nanmin(x, axis=0) if use_schema else None,
        feat_hi=np.nanmax(x, axis=0) if use_schema else None,
        beyond_gain=cfg.beyond_gain if use_schema else 0.0,
        center=center,
        scale=scale,
        n_train_rows=len(history),
        fitted_at=fitted_at,
        pooled_ref=pooled_ref,
        period=0 if use_schema else period,
        **(explain_baselines(history) if use_schema else {}),
    )


# ------------------------------------------------------------------------------ score stream
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
    from scipy.special import (  # lazy: keeps `import modelwatch.detection.detector` light
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
    return lt / (lt + SCORE_HALF_LOG10)


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


@dataclass
class MetricExplanation:
    metric: str
    observed: float
    baseline: float
    robust_z: float


def explain_baselines(history: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each schema metric's baseline (median) and robust scale for every hour of day.

    The baseline is the same hour of day in the history when at least three days of it exist
    (traffic at 3 pm is not traffic at 3 am), else the whole history.
    """
    values = history[list(schema.METRIC_NAMES)].to_numpy(dtype=float)
    hod = history[schema.TS].dt.hour.to_numpy()
    center = np.zeros((24, values.shape[1]))
    scale = np.zeros_like(center)
    overall = _explain_stats(values)
    for h in range(24):
        sel = hod == h
        enough = sel.sum() >= 3 * schema.ROWS_PER_HOUR * 0.8
        center[h], scale[h] = _explain_stats(values[sel]) if enough else overall
    return {"hod_center": center, "hod_scale": scale}


def _explain_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    median = np.median(values, axis=0)
    mad = np.median(np.abs(values - median), axis=0) * 1.4826
    return median, np.maximum.reduce([mad, 0.01 * np.abs(median), np.full_like(median, 1e-9)])


def explain(
    hour_rows: pd.DataFrame, history: pd.DataFrame, hour: datetime
) -> list[MetricExplanation]:
    """Each metric's hourly median against its baseline for that hour of day, most unusual
    first (see `explain_baselines`)."""
    base = explain_baselines(history)
    return explain_with(hour_rows, base["hod_center"][hour.hour], base["hod_scale"][hour.hour])


def explain_with(
    hour_rows: pd.DataFrame, center: np.ndarray, scale: np.ndarray
) -> list[MetricExplanation]:
    """Each schema metric's hourly median against a given baseline, most unusual first."""
    observed = np.median(hour_rows[list(schema.METRIC_NAMES)].to_numpy(dtype=float), axis=0)
    z = (observed - center) / scale
    out = [
        MetricExplanation(name, float(o), float(c), float(zz))
        for name, o, c, zz in zip(schema.METRIC_NAMES, observed, center, z, strict=True)
    ]
    out.sort(key=lambda e: -abs(e.robust_z))
    return out


@dataclass
class HourVerdict:
    """One model's detection result for one hour: a row of `mw_scores`."""

    model_id: str
    status: str
    score: float | None = None
    threshold: float | None = None
    is_anomaly: bool = False
    n_rows: int = 0
    n_train_rows: int = 0
    explanation: list[MetricExplanation] = field(default_factory=list)
    top_k: int = 3

    def as_row(self, hour: datetime) -> dict[str, Any]:
        top = self.explanation[: self.top_k]
        return {
            "hour": hour,
            "model_id": self.model_id,
            "status": self.status,
            "score": self.score,
            "threshold": self.threshold,
            "is_anomaly": self.is_anomaly,
            "n_rows": self.n_rows,
            "n_train_rows": self.n_train_rows,
            "top_metrics": ",".join(e.metric for e in top),
            "explanation": json.dumps(
                [
                    {
                        "metric": e.metric,
                        "observed": round(e.observed, 6),
                        "baseline": round(e.baseline, 6),
                        "robust_z": round(e.robust_z, 3),
                    }
                    for e in self.explanation
                ]
            ),
        }


#: Bumped whenever a fitted detector's contents change shape, so files pickled by older code
#: are refitted instead of loaded.
STORE_FORMAT = 3


class DetectorStore:
    """Fitted detectors on disk, one file per model and day, shared by the hourly tasks.

    Why: refitting every model's forest every hour is the cost of the detect stage. Each day's
    detector is fitted on the history before the day began (causal for every hour of the
    day), so whichever hour of the day runs first fits it and the others load it: each model
    is fitted once a day, and a score never depends on what the cache held. Files are keyed by the
    detection settings' digest, so a config change never reuses stale forests; old days can
    be deleted freely (`prune`). Writes go through a temporary file and a rename, so parallel
    shards never read half a file.
    """

    def __init__(self, root: str | Path, cfg: DetectionConfig) -> None:
        self.root = Path(root)
        key = f"{STORE_FORMAT}:{cfg.model_dump_json()}"
        self.digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        self._memo: dict[Path, Detector] = {}

    def path(self, model_id: str, hour: datetime) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", model_id)
        return self.root / f"{hour:%Y%m%d}" / f"{safe}-{self.digest}.joblib"

    def load(self, model_id: str, hour: datetime) -> Detector | None:
        """The day's detector of the model, if it exists and was fitted at or before `hour`."""
        path = self.path(model_id, hour)
        det = self._memo.get(path)
        if det is None and path.exists():
            import joblib

            try:
                det = joblib.load(path)
            except Exception:  # a corrupt or foreign file: refit rather than fail the hour
                det = None
        if det is None or det.fitted_at is None or pd.Timestamp(det.fitted_at) > hour:
            return None
        self._memo[path] = det
        return det

    def save(self, model_id: str, hour: datetime, det: Detector) -> None:
        import joblib

        path = self.path(model_id, hour)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        joblib.dump(det, tmp)
        os.replace(tmp, path)
        self._memo[path] = det

    def prune(self, keep_days: int, now: datetime) -> int:
        """Delete the folders of days older than `keep_days` before `now`; returns how many."""
        cutoff = f"{now - timedelta(days=keep_days):%Y%m%d}"
        gone = 0
        for d in self.root.glob("[0-9]" * 8):
            if d.name < cutoff:
                shutil.rmtree(d, ignore_errors=True)
                gone += 1
        return gone


def day_detector(
    model_id: str,
    history: pd.DataFrame,
    day: datetime,
    cfg: DetectionConfig,
    store: DetectorStore | None = None,
) -> tuple[Detector | None, int]:
    """The model's detector for `day` and how many rows it learnt from; None when the
    history is too short to fit one.

    Fitted on the clean rows of the `history_days` before the day began, or loaded from
    `store` when an earlier hour (or the daily training) fitted it already: either way the
    same detector, so a score never depends on what the cache held.
    """
    det = store.load(model_id, day) if store is not None else None
    if det is not None:
        return det, det.n_train_rows
    start = day - timedelta(days=cfg.history_days)
    in_window = (history[schema.TS] >= start) & (history[schema.TS] < day)
    clean, _ = clean_training_rows(history[in_window])
    if len(clean) < cfg.min_history_hours * schema.ROWS_PER_HOUR * 0.8:
        return None, len(clean)
    det = fit_detector(clean, cfg, model_id, fitted_at=day)
    if store is not None:
        store.save(model_id, day, det)
    return det, len(clean)


def detect_model(
    model_id: str,
    hour_rows: pd.DataFrame,
    history: pd.DataFrame,
    hour: datetime,
    cfg: DetectionConfig,
    store: DetectorStore | None = None,
) -> HourVerdict:
    """Score one model's hour against its own trailing history (through `store` if given).

    Every hour of a day is scored by that day's detector (`day_detector`). So an hour's score
    depends on the day, not on which hours ran first or on whether the store already held the
    detector: reruns in any order give the same rows, and the store only saves time.
    """
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    det, n_train = day_detector(model_id, history, day, cfg, store)
    if det is None:
        return HourVerdict(
            model_id, STATUS_INSUFFICIENT, n_rows=len(hour_rows), n_train_rows=n_train
        )
    score = det.hour_score(hour_rows)
    center, scale = det.hod_center[hour.hour], det.hod_scale[hour.hour]
    return HourVerdict(
        model_id,
        STATUS_SCORED,
        score=score,
        threshold=cfg.threshold,
        is_anomaly=score >= cfg.threshold,
        n_rows=len(hour_rows),
        n_train_rows=n_train,
        explanation=explain_with(hour_rows, center, scale),
        top_k=cfg.top_k,
    )


def detect_models(
    hour_rows: pd.DataFrame,
    history: pd.DataFrame,
    models: list[str],
    hour: datetime,
    cfg: DetectionConfig,
    store_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Score each of `models` (one shard); returns `mw_scores` rows.

    `store_dir`: a folder for the per-model, per-day detector cache (`DetectorStore`); without
    it every model's forest is fitted afresh (same scores for the day's first hour, slower).
    """
    store = DetectorStore(store_dir, cfg) if store_dir is not None else None
    hour_groups = dict(tuple(hour_rows.groupby(schema.MODEL_ID, sort=False)))
    hist_groups = dict(tuple(history.groupby(schema.MODEL_ID, sort=False)))
    empty_h = history.iloc[0:0]
    rows = []
    for model_id in models:
        own = hour_groups.get(model_id)
        if own is None or own.empty:
            verdict = HourVerdict(model_id, STATUS_NO_DATA)
        else:
            own_h = hist_groups.get(model_id, empty_h)
            verdict = detect_model(model_id, own, own_h, hour, cfg, store)
        rows.append(verdict.as_row(hour))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


SCORE_COLUMNS = [
    "hour",
    "model_id",
    "status",
    "score",
    "threshold",
    "is_anomaly",
    "n_rows",
    "n_train_rows",
    "top_metrics",
    "explanation",
]


def excluded_verdict(model_id: str, hour: datetime, status: str, n_rows: int) -> dict[str, Any]:
    """The `mw_scores` row of a model the gate kept out of detection (never silently absent)."""
    row = HourVerdict(model_id, status, n_rows=n_rows).as_row(hour)
    return row


def detector_store(settings: Settings, spec: WarehouseSpec) -> Path:
    """Where fitted per-model detectors are kept between hours (one file per model and day),
    one folder per warehouse and source table: a detector is only as good as the data it
    learnt from, so two deployments sharing a staging folder never share forests."""
    source = f"{spec.describe()}|{settings.source.table}"
    return settings.staging_path() / "_detectors" / hashlib.sha256(source.encode()).hexdigest()[:10]
