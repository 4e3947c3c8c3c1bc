"""Where a deployment keeps its files: the tasks' staging, the hour reports, the detector cache.

Each root is a local folder or a store URL (`storage.location`: workers on several machines
share a store instead of a network volume). Read from the environment once, at an edge (the
Airflow task adapter, the CLI, the demo, the view), by `Folders.from_env`; everything below
receives the folders it may use. A what-if shadow gets folders of its own (`for_shadow`), so it
never reads or prunes production's files.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from modelwatch.config import Settings
from modelwatch.storage import StorePath, location

#: Environment variables that move the folders (deployment settings, not modelwatch settings).
STAGING_ENV = "MODELWATCH_STAGING_DIR"
REPORT_ENV = "MODELWATCH_REPORT_DIR"
#: How an hour is written in folder names, keys and ids (report folders, staging, request ids).
HOUR_FORMAT = "%Y%m%dT%H"
#: A shadow's files live in `_whatif/<name>` below production's.
SHADOWS = "_whatif"


def hour_key(hour: datetime) -> str:
    """The hour as it appears in folder names and ids: 20261101T09."""
    return f"{hour:{HOUR_FORMAT}}"


@dataclass(frozen=True)
class Folders:
    """The roots, absolute (local folders or store paths); `shadow` names the what-if shadow
    they belong to, if any."""

    staging: StorePath
    reports: StorePath
    shadow: str | None = None

    @classmethod
    def from_env(cls, settings: Settings, env: Mapping[str, str] | None = None) -> Folders:
        """The environment's folders, else the settings': staging from `MODELWATCH_STAGING_DIR`
        or `staging_dir`; reports from `MODELWATCH_REPORT_DIR` or `alerts.report_dir`, else
        `reports/` beside staging."""
        env = os.environ if env is None else env
        staging = location(env.get(STAGING_ENV) or settings.staging_dir)
        chosen = env.get(REPORT_ENV) or settings.alerts.report_dir
        reports = location(chosen) if chosen else staging.parent / "reports"
        return cls(staging, reports)

    def for_shadow(self, name: str | None) -> Folders:
        """The folders of what-if shadow `name` (None: production's)."""
        if name is None:
            return self
        base = self if self.shadow is None else self.for_shadow(None)
        return replace(
            base,
            staging=base.staging / SHADOWS / name,
            reports=base.reports / SHADOWS / name,
            shadow=name,
        )

    def run(self, hour: datetime, run_id: str) -> StorePath:
        """A run's own staging folder, so concurrent runs of one hour never share files."""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)[:120]
        return self.staging / hour_key(hour) / safe

    def training(self, day: datetime) -> StorePath:
        """The daily training's staging folder for `day`."""
        return self.staging / "_training" / f"{day:%Y%m%d}"

    def detectors(self, source: str) -> StorePath:
        """The detector cache of one metrics source (`source`: a log-safe description of its
        connection), so two warehouses never share fitted detectors."""
        digest = hashlib.sha256(source.encode()).hexdigest()[:10]
        return self.staging / "_detectors" / digest

    def report(self, hour: datetime) -> StorePath:
        """The hour's report folder: report, alert notes and plots together."""
        return self.reports / hour_key(hour)
