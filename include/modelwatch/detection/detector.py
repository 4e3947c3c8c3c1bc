"""A fitted per-model detector: features, scorer, calibration, and the row and hour tails.

A scorer (the Isolation Forest, or a robust z: `scorer.py`) fitted on the model's trailing clean
history (`fit_detector`) gives each row a tail probability against the training rows, pushed
towards 1 when a feature leaves the range it took in training (a forest cannot see that). The
hourly decision (`score.py`) starts from these tails; the replay's per-row stream
(`stream.py`) shares the scorers and `empirical_log_tail`. See docs/detection.md.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.exclusion import kept_features
from modelwatch.detection.explain import explain_baselines
from modelwatch.detection.features import FEATURES, SeasonalBaseline
from modelwatch.detection.forest import model_seed
from modelwatch.detection.scorer import Scorer, fit_scorer, robust_center_scale

__all__ = ["Detector", "empirical_log_tail", "fit_detector", "robust_center_scale"]


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


def empirical_log_tail(
    ref: np.ndarray, x: np.ndarray, tail_quantile: float | None = None
) -> np.ndarray:
    """log P(reference >= x) against a sorted reference sample, mid-rank for ties (so the many
    rows that sit exactly on the baseline read as typical, not extreme).

    Beyond the largest reference value the empirical tail would be flat; it is extended with
    an exponential tail, so extreme values still rank by how extreme they are. By default the
    extension starts at the maximum, fitted to the top 1 % (the hourly path); with
    `tail_quantile` q it replaces the ECDF above the q-quantile (the stream, whose likelihood
    needs a smooth top). That tail carries the top 1 - q of the reference, so its scale is the
    mean excess of those rows over the q-quantile, ties at it included: a reference whose top
    is a few repeated values (a series of zeros and spikes) is not stretched into a tail that
    makes its rarest value look common. Logs keep the ranking where 1 - p underflows.
    """
    n = len(ref)
    x = np.asarray(x, dtype=float)
    below = np.searchsorted(ref, x, side="left")
    upto = np.searchsorted(ref, x, side="right")
    out = np.log(np.maximum(1.0 - (below + upto) / (2.0 * n), 0.5 / n))
    if tail_quantile is not None:
        at = int(tail_quantile * (n - 1))
        q = ref[at]
        excess = ref[at + 1 :] - q
        scale = max(float(excess.mean()) if len(excess) else 0.0, 1e-9)
        beyond = x > q
        with np.errstate(over="ignore"):
            out[beyond] = np.log(1.0 - tail_quantile) - (x[beyond] - q) / scale
        return out
    top = ref[-1]
    q = ref[int(0.99 * (n - 1))]
    scale = max((top - q) / max(np.log(0.01 * n + 1.0), 1e-9), 1e-6)
    beyond = x > top
    with np.errstate(over="ignore"):  # an absurd value is infinitely unlikely: -inf
        out[beyond] = np.log(0.5 / n) - (x[beyond] - top) / scale
    return out


@dataclass
class Detector:
    """A fitted per-model detector of our serving schema: the seasonal, log-scaled deviations
    of `features.SeasonalBaseline`, the scorer on them (`detection.scorer`: the forest by
    default), and the calibration of its scores."""

    scorer: Scorer
    metrics: tuple[str, ...]
    baseline: SeasonalBaseline
    train_raw: np.ndarray  # sorted raw scores of the training rows
    lo: np.ndarray  # per metric: the training range
    hi: np.ndarray
    center: np.ndarray  # per metric: training median and robust scale, for explanations
    scale: np.ndarray
    n_train_rows: int
    fitted_at: datetime | None = None
    #: Each feature's training range, and how strongly leaving it counts.
    feat_lo: np.ndarray | None = None
    feat_hi: np.ndarray | None = None
    beyond_gain: float = 0.0
    #: Each metric's explanation baseline per hour of day (24 x metrics), so an hour scored
    #: from the cache needs no pass over the history.
    hod_center: np.ndarray | None = None
    hod_scale: np.ndarray | None = None
    #: The features it sees (indices into `features.FEATURES`); None: all of them. Fewer when
    #: the model's settings exclude metrics (`exclusion.py`).
    keep: np.ndarray | None = None

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        x = self.baseline.transform(frame)
        return x if self.keep is None else x[:, self.keep]

    def tail(self, raw: np.ndarray) -> np.ndarray:
        """Per row: the share of training rows that looked more normal (mid-rank for ties)."""
        n = len(self.train_raw)
        below = np.searchsorted(self.train_raw, raw, side="left")
        upto = np.searchsorted(self.train_raw, raw, side="right")
        return (below + upto) / (2.0 * n)

    def feature_beyond(self, x: np.ndarray) -> np.ndarray:
        """Per row: how far the furthest feature lies outside the range it took in training,
        in the features' own unit (tolerance bands). A forest never splits on a feature that
        did not vary in training (a memory leak on a model whose memory sat inside its band all
        week), and treats everything past the range alike; this does not.
        """
        if self.feat_lo is None or self.feat_hi is None or len(x) == 0:
            return np.zeros(len(x))
        out = np.maximum(np.maximum(x - self.feat_hi, self.feat_lo - x), 0.0)
        # One band of grace: most features sit at exactly 0 all week, so without it a dip just
        # past its tolerance band (Sunday traffic) would count as "never seen" and page.
        out = np.maximum(out - 1.0, 0.0)
        return np.nan_to_num(out, nan=0.0, posinf=np.inf).max(axis=1)

    def row_tail(self, frame: pd.DataFrame, beyond_gain: float | None = None) -> np.ndarray:
        """Tail probability of each row of `frame`, with a row beyond the training range of
        the features pushed towards 1 (`feature_beyond`)."""
        x = self.features(frame)
        p = self.tail(self.scorer.raw(x))
        gain = self.beyond_gain if beyond_gain is None else beyond_gain
        if gain > 0:
            with np.errstate(over="ignore"):  # absurdly far out: exp(-inf) = 0, p = 1
                p = 1.0 - (1.0 - p) * np.exp(-gain * self.feature_beyond(x))
        return p

    def hour_score(self, frame: pd.DataFrame) -> float:
        """The hour's score in [0, 1]: the tail of its median minute, so a few odd minutes do
        not make an anomalous hour but a sustained change does."""
        return float(np.median(self.row_tail(frame)))


def fit_detector(
    history: pd.DataFrame,
    cfg: DetectionConfig,
    model_id: str,
    fitted_at: datetime | None = None,
    widen: float = 1.0,
) -> Detector:
    """Fit the scorer on (at most `max_train_rows` of) the clean history and calibrate it.

    The history is subsampled at random: the features are hour-of-day deviations, so any row
    is as good as another. The metrics are `cfg.metrics`: the nine and the declared ones.
    """
    metrics = list(cfg.metric_names)
    rng = np.random.default_rng(model_seed(model_id, cfg.seed))
    baseline = SeasonalBaseline(history, widen, cfg.metrics[len(schema.METRICS) :])
    train = history
    if len(train) > cfg.max_train_rows:
        idx = np.sort(rng.choice(len(train), size=cfg.max_train_rows, replace=False))
        train = train.iloc[idx]
    keep = kept_features(cfg.exclude_metrics, (*FEATURES, *baseline.extras))
    x = baseline.transform(train)
    if keep is not None:
        x = x[:, keep]
    scorer = fit_scorer(x, cfg, model_seed(model_id, cfg.seed))
    values = train[metrics].to_numpy(dtype=float)
    with warnings.catch_warnings():
        # a metric the model does not report (an optional declared one) is all-null: its
        # range and centre are NaN, which reads as "no deviation", not a warning per fit
        warnings.simplefilter("ignore", RuntimeWarning)
        center, scale = robust_center_scale(values)
        return Detector(
            scorer=scorer,
            metrics=tuple(metrics),
            baseline=baseline,
            train_raw=np.sort(scorer.raw(x)),
            lo=np.nanmin(values, axis=0),
            hi=np.nanmax(values, axis=0),
            feat_lo=np.nanmin(x, axis=0),
            feat_hi=np.nanmax(x, axis=0),
            beyond_gain=cfg.beyond_gain,
            center=center,
            scale=scale,
            n_train_rows=len(history),
            fitted_at=fitted_at,
            keep=keep,
            **explain_baselines(history, metrics),
        )
