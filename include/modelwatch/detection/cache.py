"""The detector cache: fitted detectors on disk, so each model's forest is fitted once a day.

See `DetectorStore` for why and how, and docs/detection.md#detector-cache.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from modelwatch.config import DetectionConfig
from modelwatch.detection.detector import Detector
from modelwatch.storage import StorePath, children, remove_tree, write_atomically

#: Bumped whenever a fitted detector's contents change shape or its classes move module, so
#: files pickled by older code are refitted instead of loaded (it is part of every file's key).
#: 6: `SeasonalBaseline` carries the declared metrics (`extras`, `downward_only`).
#: 7: pickled by the standard library's C pickler, not joblib's Python one (see `load`).
STORE_FORMAT = 7


#: Characters of the model id kept in a file name, for people listing the folder.
PREFIX_CHARS = 32


def file_key(model_id: str) -> str:
    """An injective, path-safe file name stem for a model id: readable prefix + sha256 hex.

    The prefix keeps only ASCII letters, digits, `_` and `-` (no dots, so never `..`); the hash
    of the exact id (surrogates included) is what tells ids apart.
    """
    exact = model_id.encode("utf-8", "surrogatepass")
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", model_id)[:PREFIX_CHARS]
    return f"{prefix}-{hashlib.sha256(exact).hexdigest()}"


def settings_key(cfg: DetectionConfig) -> str:
    """The detection settings a stored detector depends on, as text. An empty
    `exclude_metrics` is left out, so the fleet's key does not depend on a field it does not
    use; a model whose override excludes metrics gets a key of its own."""
    return cfg.model_dump_json(exclude=None if cfg.exclude_metrics else {"exclude_metrics"})


class DetectorStore:
    """Fitted detectors on disk, one file per model and day, shared by the hourly tasks.

    Why: refitting every model's forest every hour is the cost of the detect stage. Each day's
    detector is fitted on the history before the day began (causal for every hour of the
    day), so whichever hour of the day runs first fits it and the others load it: each model
    is fitted once a day, and a score never depends on what the cache held. Files are keyed by the
    detection settings' digest, so a config change never reuses stale forests; old days can
    be deleted freely (`prune`). The declared metrics are part of the key too, and a loaded
    detector must watch exactly `cfg`'s metrics: one fitted before a metric was declared never
    scores without it. Writes go through a temporary file and a rename (or an object store's
    whole-object upload), so parallel shards never read half a file. The root is a local
    folder or a store's path (`modelwatch.storage`), shared by workers on several machines.
    """

    def __init__(self, root: str | StorePath, cfg: DetectionConfig) -> None:
        self.root = Path(root) if isinstance(root, str) else root
        key = f"{STORE_FORMAT}:{settings_key(cfg)}"
        if cfg.extra_metrics:  # none declared: the plain key, shared by every such fleet
            key += ":" + ",".join(m.model_dump_json() for m in cfg.extra_metrics)
        self.digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        self.metrics = cfg.metric_names
        self._memo: dict[str, Detector] = {}

    def path(self, model_id: str, hour: datetime, tag: str = "") -> StorePath:
        """The model's file for the day: a short readable prefix of the id, then a hash of the
        exact id, so no two ids share a file (`team a/m1` vs `team_a_m1`, or `модель-1` vs
        `模型-1`, which reduce to the same prefix) and no id can leave the store's folder
        (model ids are untrusted data, never a path)."""
        stem = f"{file_key(model_id)}-{tag}" if tag else file_key(model_id)
        return self.root / f"{hour:%Y%m%d}" / f"{stem}-{self.digest}.pickle"

    def load(self, model_id: str, hour: datetime, tag: str = "") -> Detector | None:
        """The day's detector of the model, if it exists and was fitted at or before `hour`
        (`tag`: which of the day's detectors, when its baseline moved; see baselines.py).

        The standard library's pickle, not joblib's: joblib unpickles in pure Python (1.87 ms
        a detector against 0.33 ms), and a trained hour of 10,000 models loads 10,000 of
        them; a detector's arrays are small, so joblib's memory maps buy nothing. The files
        are our own cache, written by `save`, never input from outside."""
        path = self.path(model_id, hour, tag)
        det = self._memo.get(str(path))
        if det is None:
            try:  # the whole file in one read: a store answers each small read over the network
                det = pickle.loads(path.read_bytes())
            except FileNotFoundError:
                return None
            except Exception:  # a corrupt or foreign file: refit rather than fail the hour
                det = None
            # a file that unpickled into something else, or a detector of other metrics: refit
            if not isinstance(det, Detector) or tuple(det.metrics) != self.metrics:
                det = None
        if det is None or det.fitted_at is None or pd.Timestamp(det.fitted_at) > hour:
            return None
        self._memo[str(path)] = det
        return det

    def save(self, model_id: str, hour: datetime, det: Detector, tag: str = "") -> None:
        path = self.path(model_id, hour, tag)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda f: pickle.dump(det, f, protocol=pickle.HIGHEST_PROTOCOL))
        self._memo[str(path)] = det

    def prune(self, keep_days: int, now: datetime) -> int:
        """Delete the folders of days older than `keep_days` before `now`; returns how many."""
        cutoff = f"{now - timedelta(days=keep_days):%Y%m%d}"
        gone = 0
        for d in children(self.root, r"[0-9]{8}"):
            if d.name < cutoff:
                remove_tree(d)
                gone += 1
        return gone
