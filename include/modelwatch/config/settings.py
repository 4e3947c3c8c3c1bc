"""All settings together, and how they are loaded from one YAML file.

The file is found from an explicit path, else the `MODELWATCH_CONFIG` environment variable,
else the defaults; any error (unreadable, not YAML, invalid, a name that points at nothing) is a
ConfigError with one line per problem: the file, the line, the key path (config/errors.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, ValidationInfo, model_validator

from modelwatch.config.alerts import AlertsConfig
from modelwatch.config.base import StrictModel
from modelwatch.config.crosscheck import cross_check
from modelwatch.config.detection import DetectionConfig
from modelwatch.config.drift import DriftConfig
from modelwatch.config.errors import (
    ConfigError,
    key_path,
    located_problems,
    validation_problems,
    yaml_problem,
)
from modelwatch.config.fleetlife import FleetLifeConfig
from modelwatch.config.logs import HintsConfig, LogsConfig
from modelwatch.config.overrides import Override, check_label_source
from modelwatch.config.remediation import RemediationConfig
from modelwatch.config.source import SourceConfig, ValidationConfig

CONFIG_ENV = "MODELWATCH_CONFIG"
#: Validation context of `load_settings`: it runs the cross-checks itself, to locate them.
_DEFER_CROSS_CHECKS = "defer_cross_checks"


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
    def _names_point_somewhere(self, info: ValidationInfo) -> Settings:
        """Receivers name defined channels (config/crosscheck.py). `load_settings` checks
        them itself, to give each problem its line in the file."""
        if info.context and info.context.get(_DEFER_CROSS_CHECKS):
            return self
        problems = cross_check(self.alerts)
        if problems:
            raise ValueError("\n".join(f"{key_path(loc)}: {msg}" for loc, msg in problems))
        return self

    @model_validator(mode="after")
    def _declared_metrics_reach_their_users(self) -> Settings:
        """The gate and the detector act on the metrics, sample interval and metric set the
        `source` section declares (metrics.py); a built-in the fleet does not report is left
        out of detection as `exclude_metrics` leaves one out."""
        src = self.source
        extras, absent, interval = src.extra_metrics, src.absent, src.interval_seconds
        if extras or absent or interval != 60:  # sections are frozen: hand them aware copies
            detection = self.detection
            if absent:
                gone = tuple(sorted({*detection.exclude_metrics, *absent}))
                detection = detection.model_copy(update={"exclude_metrics": gone})
            object.__setattr__(
                self, "validation", self.validation.for_fleet(extras, absent, interval)
            )
            object.__setattr__(self, "detection", detection.for_fleet(extras, absent, interval))
        return self

    def digest(self) -> str:
        """A short fingerprint, stored with each run, that changes when any setting does."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from `path`, else from $MODELWATCH_CONFIG, else the defaults."""
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        return Settings()
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror or exc}") from exc
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(p, exc)) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}:1: config file must hold a mapping of sections at the top level")
    try:
        settings = Settings.model_validate(raw, context={_DEFER_CROSS_CHECKS: True})
    except ValidationError as exc:
        raise ConfigError(validation_problems(p, text, exc)) from exc
    problems = cross_check(settings.alerts)
    if problems:
        raise ConfigError(located_problems(p, text, problems))
    return settings


def settings_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The settings file `load_settings(path)` reads (None: the built-in defaults)."""
    path = path or os.environ.get(CONFIG_ENV)
    return Path(path).resolve() if path else None


def settings_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """What a relative path in the settings' connections (a DuckDB file) is relative to: the
    settings file's folder, or the working directory without a file."""
    found = settings_file(path)
    return found.parent if found is not None else Path.cwd()
