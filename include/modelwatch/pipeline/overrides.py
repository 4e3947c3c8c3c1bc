"""Per-model detection settings handed from extract to the detect shards (and from the
training stage to its shards) as a small JSON file in the run's folder.

Why staged: the shards run in parallel and do not read the warehouse on a normal hour; the
labels overrides match on are read once, where the warehouse is open anyway, and every shard
then scores (and finds its cached detectors) with the same settings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from modelwatch.config import Settings, per_model_detection
from modelwatch.labels import override_labels
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)


def stage_detection_changes(
    wh: Warehouse, settings: Settings, models: Sequence[str], path: Path
) -> dict[str, dict[str, Any]]:
    """Resolve the models' detection overrides and write them to `path` (always, so a rerun
    with the overrides removed does not read a stale file)."""
    changes: dict[str, dict[str, Any]] = {}
    if settings.overrides:
        labels = override_labels(wh, settings, models)
        changes = per_model_detection(settings.overrides, models, labels)
    if changes:
        log.info("detection overrides for %d models: %s", len(changes), changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(changes, sort_keys=True))
    return changes


def read_detection_changes(path: Path) -> dict[str, dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else {}
