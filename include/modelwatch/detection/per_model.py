"""Each model's detection settings and detector store: the fleet's, or its overrides'.

Why here: the overrides (`config/overrides.py`) are resolved once per run, where the labels
are read, and reach detection as plain per-model changes (`detection_changes`); this turns
them into settings and picks the detector store whose key matches what the detector was fitted
with. Only settings that change a fit (history, excluded metrics) change a model's key: a
model whose override only moves its threshold keeps the fleet's cached detector, and the
other models never refit because one model's override changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from modelwatch.config import DetectionConfig, with_detection_changes
from modelwatch.detection.cache import DetectorStore
from modelwatch.storage import StorePath, children

#: model -> the detection fields its overrides change (JSON-safe, as staged).
Changes = Mapping[str, Mapping[str, Any]]


class ModelDetection:
    """Per-model settings (`cfg`) and detector stores (`store`, `path`) for one run."""

    def __init__(
        self,
        fleet: DetectionConfig,
        changes: Changes | None = None,
        root: str | StorePath | None = None,
    ) -> None:
        self.fleet = fleet
        self.root = Path(root) if isinstance(root, str) else root
        self._cfg = {m: with_detection_changes(fleet, c) for m, c in (changes or {}).items() if c}
        self._stores: dict[str, DetectorStore] = {}

    def cfg(self, model_id: str) -> DetectionConfig:
        return self._cfg.get(model_id, self.fleet)

    def fit_cfg(self, model_id: str) -> DetectionConfig:
        """The settings the model's detector is fitted (and keyed) with: its own, but the
        fleet's threshold, which only decides, never fits."""
        cfg = self.cfg(model_id)
        if cfg.threshold == self.fleet.threshold:
            return cfg
        return cfg.model_copy(update={"threshold": self.fleet.threshold})

    def store(self, model_id: str) -> DetectorStore | None:
        """The store for the model's fit settings (one per distinct settings, shared)."""
        if self.root is None:
            return None
        cfg = self.fit_cfg(model_id)
        key = cfg.model_dump_json()
        if key not in self._stores:
            self._stores[key] = DetectorStore(self.root, cfg)
        return self._stores[key]

    def path(self, model_id: str, day: datetime, tag: str = "") -> StorePath:
        """The file of the model's day detector (a root is needed)."""
        store = self.store(model_id)
        if store is None:
            raise ValueError("ModelDetection has no store root")
        return store.path(model_id, day, tag)

    def not_cached(self, models: Iterable[str], day: datetime) -> list[str]:
        """The models whose detector for `day` is not in the cache, from one listing of each
        day folder (on a store, one request instead of one per model)."""
        listed: dict[str, set[str]] = {}
        out = []
        for model_id in models:
            path = self.path(model_id, day)
            folder = str(path.parent)
            if folder not in listed:
                listed[folder] = {p.name for p in children(path.parent, r".+")}
            if path.name not in listed[folder]:
                out.append(model_id)
        return out
