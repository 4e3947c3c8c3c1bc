"""All settings together, and how they are loaded from one YAML file.

The file is found from an explicit path, else the `MODELWATCH_CONFIG` environment variable,
else the defaults; any error (unreadable, not YAML, invalid) is a ConfigError naming the file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml
from pydantic import Field, model_validator

from modelwatch.config.alerts import AlertsConfig
from modelwatch.config.base import StrictModel
from modelwatch.config.detection import DetectionConfig
from modelwatch.config.drift import DriftConfig
from modelwatch.config.fleetlife import FleetLifeConfig
from modelwatch.config.logs import HintsConfig, LogsConfig
from modelwatch.config.overrides import Override, check_label_source
from modelwatch.config.remediation import RemediationConfig
from modelwatch.config.source import SourceConfig, ValidationConfig

CONFIG_ENV = "MODELWATCH_CONFIG"


class Settings(StrictModel):
    """All of modelwatch's settings."""

    source: SourceConfig = SourceConfig()
    validation: ValidationConfig = ValidationConfig()
    detection: DetectionConfig = DetectionConfig()
    drift: DriftConfig = DriftConfig()
    alerts: AlertsConfig = AlertsConfig()
    remediation: RemediationConfig = RemediationConfig()
    logs: LogsConfig = LogsConfig()
    hints: HintsConfig = HintsConfig()
    fleet_life: FleetLifeConfig = FleetLifeConfig()
    #: Detection and alert settings per model id or label (config/overrides.py).
    overrides: tuple[Override, ...] = ()
    #: Models per detect task (a mapped task instance each). Empty: chosen from the fleet's
    #: size, about `shard_target_size` models a shard and at most `max_shards` shards, so the
    #: number of task instances grows with shards, not models (see sharding.py).
    shard_size: int | None = Field(None, ge=1)
    shard_target_size: int = Field(250, ge=1)
    max_shards: int = Field(32, ge=1)
    #: Connection id of the warehouse (an Airflow connection, or AIRFLOW_CONN_<ID> outside it).
    warehouse_conn_id: str = "modelwatch_warehouse"
    #: Where tasks hand data to each other (one folder per run); env MODELWATCH_STAGING_DIR wins
    #: (read at the edge: `folders.Folders.from_env`).
    staging_dir: str = ".data/staging"

    @model_validator(mode="after")
    def _override_labels(self) -> Settings:
        check_label_source(self.overrides, self.alerts.labels)
        return self

    @model_validator(mode="after")
    def _declared_metrics_reach_their_users(self) -> Settings:
        """The gate and the detector act on the metrics `source` declares (metrics.py)."""
        extras = self.source.extra_metrics
        if extras:  # the sections are frozen: hand them copies that know the metrics
            object.__setattr__(self, "validation", self.validation.with_metrics(extras))
            object.__setattr__(self, "detection", self.detection.with_metrics(extras))
        return self

    def digest(self) -> str:
        """A short fingerprint, stored with each run, that changes when any setting does."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


class ConfigError(ValueError):
    """The config file is missing, unreadable or invalid."""


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from `path`, else from $MODELWATCH_CONFIG, else the defaults."""
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        return Settings()
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {p} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {p} must hold a mapping at the top level")
    try:
        return Settings.model_validate(raw)
    except ValueError as exc:
        raise ConfigError(f"config file {p} is invalid:\n{exc}") from exc
