"""All settings together, and how they are loaded from one YAML file.

The file is found from an explicit path, else the `MODELWATCH_CONFIG` environment variable,
else the defaults; any error (unreadable, not YAML, invalid, a name that points at nothing) is a
ConfigError with one line per problem: the file, the line, the key path (config/errors.py).
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from pathlib import Path
from typing import Any

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
#: Models a shard holds at most by default (`shard_max_models`; docs/operations.md says why).
SHARD_MAX_MODELS = 500
#: Keys that sized shards before `shard_max_models`: still accepted, with a warning.
RETIRED_SHARD_KEYS = frozenset({"shard_target_size", "max_shards"})
#: Validation context of `load_settings`: it runs the cross-checks itself, to locate them.
_DEFER_CROSS_CHECKS = "defer_cross_checks"


class Settings(StrictModel):
    """All of modelwatch's settings."""

    source: SourceConfig = Field(
        SourceConfig(),
        description="Where the input metrics live, how their columns are named, and when a "
        "scheduled run stops waiting for them.",
    )
    validation: ValidationConfig = Field(
        ValidationConfig(),
        description="The validation gate's thresholds: a model that fails them is quarantined "
        "for the hour, the others go on.",
    )
    detection: DetectionConfig = Field(
        DetectionConfig(),
        description="The per-model Isolation Forest and its decision, and the score stream of "
        "replayed series.",
    )
    drift: DriftConfig = Field(
        DriftConfig(),
        description="Prediction (and feature) drift against a reference, per model and hour "
        "(docs/drift.md).",
    )
    alerts: AlertsConfig = Field(
        AlertsConfig(),
        description="Alert lifecycle, severity, receivers, routing and noise control "
        "(docs/alerting.md).",
    )
    remediation: RemediationConfig = Field(
        RemediationConfig(),
        description="Remediation policies, guardrails, approval and targets (docs/remediation.md).",
    )
    logs: LogsConfig = Field(
        LogsConfig(),
        description="Model logs: where they come from and how their signatures are mined "
        "(docs/hints.md).",
    )
    hints: HintsConfig = Field(
        HintsConfig(),
        description="How troubleshooting hints are found and ranked (docs/hints.md).",
    )
    fleet_life: FleetLifeConfig = Field(
        FleetLifeConfig(),
        description="New normal and retirement: detection living with a fleet's ordinary changes.",
    )
    overrides: tuple[Override, ...] = Field(
        (),
        description="Detection and alert settings per model id or label: model-id entries win "
        "over label entries, later entries over earlier ones, field by field.",
    )
    shard_size: int | None = Field(
        None,
        ge=1,
        description="Models per detect and training task (a mapped task instance each), "
        "fixed. Null: as few shards as hold at most `shard_max_models` models each, balanced, "
        "so the shard size follows the fleet and task instances grow with shards, not models.",
    )
    shard_max_models: int = Field(
        SHARD_MAX_MODELS,
        ge=1,
        description="Models a shard holds at most while `shard_size` is null. One worker "
        "holds a shard's rows, detectors and (on a day's first hour, in the daily training) "
        "their week of history, so this bounds a worker's memory.",
    )
    warehouse_conn_id: str = Field(
        "modelwatch_warehouse",
        description="The warehouse's connection id (an Airflow connection, or "
        "`AIRFLOW_CONN_<ID>` outside Airflow).",
    )
    staging_dir: str = Field(
        ".data/staging",
        description="Where tasks hand data to each other (one folder per run) and the "
        "detector cache lives: a local folder, or a store URL that workers on several "
        "machines share, with the Airflow connection's id before `@` "
        "(`s3://aws_default@bucket/modelwatch/staging`, `sftp://files@/srv/staging`; any "
        "scheme an installed Airflow provider registers); env `MODELWATCH_STAGING_DIR` wins.",
    )

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: Any) -> Any:
        """`shard_target_size` and `max_shards` are retired keys (they sized shards before
        `shard_max_models` did). A settings file that still names them loads, with a warning,
        for one release (a FutureWarning: the deprecation warning Python shows by default)."""
        if isinstance(data, dict) and RETIRED_SHARD_KEYS & data.keys():
            for key in sorted(RETIRED_SHARD_KEYS & data.keys()):
                warnings.warn(
                    f"{key} is deprecated and ignored: shards are as few as hold at most "
                    "shard_max_models models each; remove the setting",
                    FutureWarning,
                    stacklevel=2,
                )
            data = {k: v for k, v in data.items() if k not in RETIRED_SHARD_KEYS}
        return data

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
    return _settings_from(p, text)


@functools.lru_cache(maxsize=8)
def _settings_from(p: Path, text: str) -> Settings:
    """The settings a file's text holds, parsed and checked once per process and text: every
    task of an hour reads them, and pure-Python YAML alone takes tens of ms for the shipped
    file. Shared safely: settings are frozen. A file that does not parse raises every time."""
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
