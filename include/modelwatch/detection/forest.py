"""The Isolation Forest: scikit-learn's trees, grown by its tree builder and packed for scoring.

Why its own module: the forest is the one piece that knows nothing of models, metrics or
hours; `detector.py` wraps it with features and calibration, `stream.py` with the per-row
stream. scikit-learn's tree builder grows every tree (`grow_trees`), exactly as
`IsolationForest.fit` would; only the bagging around it is ours, because sklearn's costs about
1 ms of parameter bookkeeping per tree (cloning, `get_params`, input checks), more than the tree
itself, and a daily training fits 100 trees for each of thousands of models. Scoring is ours
because a fitted sklearn forest is slow to unpickle and walks its trees one Python call at a
time, which dominates the hourly task (60 rows) and a replay (a few rows per refit). The trees
and both packed forms are what `IsolationForest` grows and scores (tests compare them); should
sklearn's private tree API change, `fit_forest` falls back to `IsolationForest` itself.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from modelwatch.config import DetectionConfig

log = logging.getLogger(__name__)


def model_seed(model_id: str, seed: int) -> int:
    """A stable per-model random state: reruns of an hour give the same forest."""
    return (zlib.crc32(model_id.encode()) ^ seed) & 0x7FFFFFFF


#: The largest finite float32: sklearn's trees see their input as float32, where anything
#: larger is infinite, which it refuses.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_tree_input(x: np.ndarray) -> np.ndarray:
    """Rows as sklearn's trees compare them: float32 values (sklearn casts its input; absurd
    magnitudes clipped to the float32 range) held in float64 to compare against the float64
    thresholds, so a packed forest routes every row exactly as sklearn does."""
    x = np.clip(np.asarray(x, dtype=np.float64), -FLOAT32_MAX, FLOAT32_MAX)
    return np.ascontiguousarray(x, dtype=np.float32).astype(np.float64)


class PackedForest:
    """A fitted Isolation Forest as a few numpy arrays, scored without sklearn.

    All trees are walked together, one level per step, so scoring is a handful of numpy ops.
    Path lengths match sklearn's `score_samples` (depth of the leaf plus the average path
    length of the samples left in it).
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
        """A fitted `IsolationForest` (every feature seen by every tree, as ours are)."""
        return cls.from_trees([e.tree_ for e in forest.estimators_], forest.max_samples_)

    @classmethod
    def from_trees(cls, trees: Sequence[Any], max_samples: int) -> PackedForest:
        """sklearn `Tree`s grown on `max_samples` rows each."""
        size = max(t.node_count for t in trees)
        shape = (len(trees), size)
        feature = np.zeros(shape, dtype=np.int32)
        threshold = np.zeros(shape)
        left = np.tile(np.arange(size, dtype=np.int32), (len(trees), 1))
        right = left.copy()
        value = np.zeros(shape)
        depth = 0
        for i, t in enumerate(trees):
            n = t.node_count
            is_leaf = t.children_left[:n] < 0
            feature[i, :n] = np.where(is_leaf, 0, t.feature)
            threshold[i, :n] = t.threshold
            left[i, :n] = np.where(is_leaf, np.arange(n), t.children_left)
            right[i, :n] = np.where(is_leaf, np.arange(n), t.children_right)
            node_depth = np.asarray(t.compute_node_depths(), dtype=float) - 1.0  # root: 0
            samples = t.n_node_samples[:n].astype(float)
            value[i, :n] = np.where(is_leaf, node_depth + _avg_path(samples), 0.0)
            depth = max(depth, int(node_depth.max()))
        norm = float(_avg_path(np.array([float(max_samples)]))[0])
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
        x = as_tree_input(x)
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


class StepForest:
    """A fitted forest on one feature, as the step function it is.

    Why: on a single value (a replayed series' `value`) every tree splits the line at its
    thresholds, so the forest's score is constant between consecutive thresholds of all its
    trees. Scored once per interval (by sklearn itself), a row's score is then one binary
    search, whatever the number of trees: the replay scores its training rows at every refit.
    """

    def __init__(self, edges: np.ndarray, values: np.ndarray) -> None:
        self.edges = edges  # sorted thresholds of every tree
        self.values = values  # raw score on (edges[i-1], edges[i]]; the last: beyond edges[-1]

    @classmethod
    def from_sklearn(cls, forest: Any) -> StepForest:
        """A fitted `IsolationForest` on one feature."""
        return cls.from_trees([e.tree_ for e in forest.estimators_], forest.max_samples_)

    @classmethod
    def from_trees(cls, trees: Sequence[Any], max_samples: int) -> StepForest:
        """Each leaf of each tree covers an interval (lo, hi] of the line, bounded by its
        ancestors' thresholds; the forest's mean path length on an interval between two
        consecutive thresholds is the sum of the leaves covering it (a difference array over
        the sorted thresholds) over the number of trees."""
        offset = np.cumsum([0] + [t.node_count for t in trees])[:-1]
        # All trees' nodes in one array (child ids shifted by their tree's offset).
        left = np.concatenate(
            [
                np.where(t.children_left < 0, -1, t.children_left + o)
                for t, o in zip(trees, offset, strict=True)
            ]
        )
        right = np.concatenate([t.children_right + o for t, o in zip(trees, offset, strict=True)])
        thr = np.concatenate([t.threshold for t in trees])
        depth = np.concatenate([t.compute_node_depths() for t in trees])
        samples = np.concatenate([t.n_node_samples for t in trees]).astype(float)
        lo, hi = np.full(len(thr), -np.inf), np.full(len(thr), np.inf)
        inner = np.flatnonzero(left >= 0)
        # A child's interval is its parent's, cut at the parent's threshold: one vectorised
        # pass per level, from the roots down.
        for d in range(1, int(depth.max())):
            at = inner[depth[inner] == d]
            lo[left[at]], hi[left[at]] = lo[at], np.minimum(hi[at], thr[at])
            lo[right[at]], hi[right[at]] = np.maximum(lo[at], thr[at]), hi[at]
        leaf = left < 0
        lo, hi = lo[leaf], hi[leaf]
        val = (depth[leaf] - 1.0) + _avg_path(samples[leaf])
        edges = np.unique(np.r_[lo, hi][np.isfinite(np.r_[lo, hi])])
        first = np.where(np.isfinite(lo), np.searchsorted(edges, lo) + 1, 0)
        last = np.where(np.isfinite(hi), np.searchsorted(edges, hi), len(edges))
        size = len(edges) + 2
        total = np.bincount(first, val, size) - np.bincount(last + 1, val, size)
        path = np.cumsum(total)[: len(edges) + 1] / len(trees)
        norm = float(_avg_path(np.array([float(max_samples)]))[0])
        return cls(edges, 2.0 ** (-path / norm) if norm > 0 else np.ones(len(path)))

    def raw(self, x: np.ndarray) -> np.ndarray:
        """Per row (one column): sklearn's -score_samples."""
        x = as_tree_input(np.asarray(x).reshape(len(x), -1)[:, 0])
        return self.values[np.searchsorted(self.edges, x, side="left")]


def _avg_path(n: np.ndarray) -> np.ndarray:
    """Average path length of an unsuccessful search in a binary tree of n points (the IF
    paper's c(n)), as sklearn computes it."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


#: sklearn's bound for the seeds it draws (`ensemble._bagging.MAX_INT`).
_MAX_INT = np.iinfo(np.int32).max


def grow_trees(x: np.ndarray, trees: int, samples: int, seed: int) -> list[Any]:
    """The trees `IsolationForest(n_estimators=trees, max_samples=samples,
    random_state=seed).fit(x)` grows, grown by sklearn's own tree builder with the same random
    draws, in the same order: the targets (uniform noise), each tree's seed, its splitter's
    seed and its rows (sampled without replacement, passed as weights). `x` as sklearn sees it:
    float32, finite, at least `samples` rows."""
    from sklearn.tree._criterion import MSE
    from sklearn.tree._splitter import RandomSplitter
    from sklearn.tree._tree import DepthFirstTreeBuilder, Tree
    from sklearn.utils.random import sample_without_replacement

    n, width = x.shape
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.random.RandomState(seed).uniform(size=n).reshape(-1, 1)
    depth = int(np.ceil(np.log2(max(samples, 2))))
    outputs = np.array([1], dtype=np.intp)
    grown = []
    # Two generators re-seeded per tree: sklearn makes three new ones a tree, and creating
    # one costs a hundred times a re-seed.
    draws, splits = np.random.RandomState(), np.random.RandomState()
    for tree_seed in np.random.RandomState(seed).randint(_MAX_INT, size=trees):
        draws.seed(tree_seed)
        splits.seed(draws.randint(_MAX_INT))
        draws.seed(tree_seed)
        sample_without_replacement(width, width, random_state=draws)  # the features: all
        rows = sample_without_replacement(n, samples, random_state=draws)
        weight = np.bincount(rows, minlength=n).astype(np.float64)
        splitter = RandomSplitter(MSE(1, n), 1, 1, 0.0, splits, None)
        tree = Tree(width, outputs, 1)
        DepthFirstTreeBuilder(splitter, 2, 1, 0.0, depth, 0.0).build(tree, x, y, weight, None)
        grown.append(tree)
    return grown


def _sklearn_trees(x: np.ndarray, trees: int, samples: int, seed: int) -> list[Any]:
    """The same trees through `IsolationForest` itself (slower: its bagging's bookkeeping)."""
    import sklearn
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(n_estimators=trees, max_samples=samples, random_state=seed)
    # The parameters are ours and the rows finite (`as_tree_input`): skip sklearn's checks.
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        forest.fit(x)
    return [e.tree_ for e in forest.estimators_]


#: How trees are grown: `grow_trees` unless sklearn's private tree API has failed it.
_grow = grow_trees


def fit_forest(
    x: np.ndarray,
    cfg: DetectionConfig,
    seed: int,
    trees: int | None = None,
    samples: int | None = None,
) -> PackedForest | StepForest:
    """scikit-learn's Isolation Forest on the rows `x` (`trees` trees of `samples` rows each,
    by default `cfg.n_estimators` and `cfg.max_samples`), packed for scoring: as a step
    function when it sees one feature, as arrays of trees otherwise."""
    x = as_tree_input(x)
    trees = trees or cfg.n_estimators
    samples = min(samples or cfg.max_samples, len(x))
    global _grow
    try:
        grown = _grow(x, trees, samples, seed)
    except (ImportError, TypeError, AttributeError) as exc:
        # sklearn's tree API is private: if an upgrade changed it, its forest grows the same
        # trees, only slower; said once per process
        log.warning("growing trees through sklearn's IsolationForest from now on: %r", exc)
        _grow = _sklearn_trees
        grown = _grow(x, trees, samples, seed)
    if x.shape[1] == 1:
        return StepForest.from_trees(grown, samples)
    return PackedForest.from_trees(grown, samples)
