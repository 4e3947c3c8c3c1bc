"""Settings, read from one YAML file and validated, so a typo fails loudly at load time.

Every field has a default that suits the demo fleet; a file only says what differs. The file is
found from an explicit path, else the `MODELWATCH_CONFIG` environment variable, else defaults.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelwatch import schema

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

CONFIG_ENV = "MODELWATCH_CONFIG"
STAGING_ENV = "MODELWATCH_STAGING_DIR"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """Where the input metrics live and how their columns are named."""

    table: str = "model_metrics"
    #: Map of our column name -> the warehouse's column name, for the ones that differ.
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("table")
    @classmethod
    def _table_is_identifier(cls, v: str) -> str:
        if not _IDENTIFIER.match(v):
            raise ValueError(f"source.table {v!r} is not a plain [schema.]table identifier")
        return v

    @field_validator("columns")
    @classmethod
    def _columns_known(cls, v: dict[str, str]) -> dict[str, str]:
        for ours, theirs in v.items():
            if ours not in schema.ALL_COLUMNS:
                raise ValueError(
                    f"source.columns maps unknown column {ours!r}; "
                    f"known: {', '.join(schema.ALL_COLUMNS)}"
                )
            if not _IDENTIFIER.match(theirs) or "." in theirs:
                raise ValueError(f"source.columns.{ours} = {theirs!r} is not a plain identifier")
        return v

    def column(self, ours: str) -> str:
        """The warehouse's name for one of our columns."""
        return self.columns.get(ours, ours)


class ValidationConfig(_Strict):
    """The validation gate's thresholds."""

    #: Share of the hour's expected one-minute rows a model must deliver to be scored.
    min_completeness: float = Field(0.8, ge=0.0, le=1.0)
    #: The model's newest row may be at most this many minutes older than the hour's end.
    max_staleness_minutes: int = Field(15, ge=1)
    #: Share of a model's rows that may break a range rule before it is quarantined.
    max_bad_row_share: float = Field(0.0, ge=0.0, le=1.0)


class DetectionConfig(_Strict):
    """The per-model Isolation Forest and its decision."""

    history_days: int = Field(7, ge=1, le=90)
    #: Hours of clean history a model needs before it is scored at all.
    min_history_hours: int = Field(24, ge=1)
    threshold: float = Field(0.95, gt=0.0, lt=1.0)
    n_estimators: int = Field(100, ge=10, le=1000)
    max_samples: int = Field(256, ge=16)
    #: Training rows are subsampled to at most this many, to bound the cost per model.
    max_train_rows: int = Field(4096, ge=256)
    #: How many metrics an explanation names.
    top_k: int = Field(3, ge=1, le=len(schema.METRICS))
    seed: int = 0
    # --- streaming detection (replay and the per-row score stream) ---
    #: A cached forest is refitted once it is this many hours old ...
    refit_hours: float = Field(24.0, gt=0.0)
    #: ... or once the usable history has grown by this factor since the fit (cold start).
    refit_growth: float = Field(1.5, gt=1.0)
    #: Rows a series needs before it is scored at all (besides `min_history_hours` of span).
    min_train_rows: int = Field(200, ge=16)
    #: Who grows the forests: "numpy" (fast, the default) or "sklearn" (the reference).
    forest_impl: str = Field("numpy", pattern="^(numpy|sklearn)$")
    #: How strongly a value beyond the training range pushes a row's tail towards 1.
    beyond_gain: float = Field(5.0, ge=0.0)
    #: Days of history before generic series get same-time-yesterday features (0 = never).
    seasonal_days: float = Field(3.0, ge=0.0)
    #: Rows whose surprise is pooled into the "recent scores" tail probability.
    stream_rows: int = Field(12, ge=1)
    #: The stream score at or above which a row raises a detection (`is_anomaly`).
    row_threshold: float = Field(0.42, gt=0.0, lt=1.0)
    #: After a detection, no new one for this many hours; scores are damped meanwhile.
    refractory_hours: float = Field(12.0, ge=0.0)
    refractory_damp: float = Field(0.5, ge=0.0, le=1.0)
    #: Anomalous rows are left out of later fits unless they are more than this share of the
    #: training window (then they are the new normal).
    max_excluded_share: float = Field(0.1, ge=0.0, le=1.0)


class AlertRule(_Strict):
    """When a signal opens an alert, and when it resolves."""

    #: Open when the signal held in at least `n` of the last `m` hours ...
    n: int = Field(1, ge=1)
    m: int = Field(1, ge=1)
    #: ... and resolve after this many consecutive hours without it.
    recovery_hours: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _n_le_m(self) -> AlertRule:
        if self.n > self.m:
            raise ValueError(f"alert rule needs n <= m, got n={self.n}, m={self.m}")
        return self


class AlertsConfig(_Strict):
    """Alert lifecycle and routing."""

    anomaly: AlertRule = AlertRule(n=2, m=3, recovery_hours=2)
    outage: AlertRule = AlertRule(n=1, m=1, recovery_hours=1)
    data_quality: AlertRule = AlertRule(n=1, m=1, recovery_hours=1)
    #: A score at or above this opens an anomaly alert at once, without waiting for n of m.
    critical_score: float = Field(0.999, gt=0.0, le=1.0)
    #: An open alert is notified again after this many hours ("repeated").
    repeat_interval_hours: int = Field(4, ge=1)
    #: Receivers notified for every alert (names of notifier channels).
    receivers: tuple[str, ...] = ("log",)


class ScaleUpPolicy(_Strict):
    """HPA-style scale-up on capacity saturation."""

    target_utilisation: float = Field(0.6, gt=0.0, lt=1.0)
    #: No action while observed/target utilisation is within 1 +- tolerance (HPA's band).
    tolerance: float = Field(0.1, ge=0.0, lt=1.0)
    #: The latency and traffic robust z that, with CPU above target, mean saturation.
    min_latency_z: float = 3.0
    min_traffic_z: float = 2.0


class RemediationConfig(_Strict):
    """Remediation policy and guardrails."""

    dry_run: bool = True
    scale_up: ScaleUpPolicy = ScaleUpPolicy()
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(50, ge=1)
    #: Largest change of one action, in replicas.
    max_step: int = Field(10, ge=1)
    cooldown_hours: int = Field(3, ge=0)
    max_actions_per_hour: int = Field(10, ge=0)
    target: str = "log"

    @model_validator(mode="after")
    def _bounds(self) -> RemediationConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("remediation.min_replicas must not exceed max_replicas")
        return self


class Settings(_Strict):
    """All of modelwatch's settings."""

    source: SourceConfig = SourceConfig()
    validation: ValidationConfig = ValidationConfig()
    detection: DetectionConfig = DetectionConfig()
    alerts: AlertsConfig = AlertsConfig()
    remediation: RemediationConfig = RemediationConfig()
    #: Models per detect task; the number of mapped tasks grows with shards, not models.
    shard_size: int = Field(50, ge=1)
    #: Connection id of the warehouse (an Airflow connection, or AIRFLOW_CONN_<ID> outside it).
    warehouse_conn_id: str = "modelwatch_warehouse"
    #: Where tasks hand data to each other (one folder per run); env MODELWATCH_STAGING_DIR wins.
    staging_dir: str = ".data/staging"

    def digest(self) -> str:
        """A short fingerprint, stored with each run, that changes when any setting does."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    def staging_path(self) -> Path:
        return Path(os.environ.get(STAGING_ENV) or self.staging_dir).resolve()


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
