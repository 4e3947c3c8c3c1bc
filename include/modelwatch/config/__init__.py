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
    #: A scheduled run waits for the hour's rows until this many minutes after the hour's end,
    #: then goes on; models still missing are judged no_data (see ingest/landing.py).
    landing_deadline_minutes: int = Field(30, ge=0, le=24 * 60)

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
    #: Generic series: the latest training rows whose scores calibrate the forest's tails.
    calibration_rows: int = Field(4096, ge=256)
    #: How many metrics an explanation names.
    top_k: int = Field(3, ge=1, le=len(schema.METRICS))
    seed: int = 0
    # --- streaming detection (replay and the per-row score stream) ---
    #: A cached forest is refitted once it is this many hours old ...
    refit_hours: float = Field(24.0, gt=0.0)
    #: ... and at least this many rows have arrived since (a day of five-minute rows): the
    #: cost of a replay then follows its rows, not its span.
    refit_rows: int = Field(288, ge=1)
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
    stream_rows: int = Field(24, ge=1)
    #: A row's own tail counts in the stream only this many decades (log10) beyond the
    #: pooled tail's: lone extreme rows still fire, lone odd rows on spiky series do not.
    single_row_margin: float = Field(4.0, ge=0.0)
    #: The stream score at or above which a row raises a detection (`is_anomaly`).
    row_threshold: float = Field(0.38, gt=0.0, lt=1.0)
    #: After a detection, no new one for this many rows (12 hours of five-minute rows);
    #: scores are damped meanwhile. Rows, not hours: a series' statistics are per row.
    refractory_rows: int = Field(144, ge=0)
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


#: Labels an alert can be matched on (routes, silences, maintenance windows, inhibition).
ALERT_LABELS = ("model_id", "kind", "severity", "team", "tier", "owner")
CHANNEL_TYPES = ("log", "alertmanager", "slack", "email", "webhook")


def _check_matchers(v: dict[str, str]) -> dict[str, str]:
    for key in v:
        if key not in ALERT_LABELS:
            raise ValueError(f"unknown label {key!r}; known: {', '.join(ALERT_LABELS)}")
    return v


class ChannelConfig(_Strict):
    """A named receiver: a channel type and the Airflow connection that holds its secrets.

    Addresses and tokens live in the connection (or AIRFLOW_CONN_<ID> outside Airflow), never
    here, so the config file can be committed."""

    type: str
    #: The Airflow connection id (alertmanager, webhook: http; slack: slackwebhook; email: smtp).
    conn_id: str | None = None
    #: Leave the receiver out (no rows, no failures) while its connection is not defined, so
    #: one config serves a laptop without Alertmanager and production with it.
    optional: bool = False
    #: email only: the recipients.
    to: tuple[str, ...] = ()
    #: Seconds one delivery attempt may take before it counts as failed.
    timeout_s: float = Field(10.0, gt=0.0, le=300.0)

    @model_validator(mode="after")
    def _needs(self) -> ChannelConfig:
        if self.type not in CHANNEL_TYPES:
            raise ValueError(f"channel type {self.type!r} unknown; known: {CHANNEL_TYPES}")
        if self.type != "log" and not self.conn_id:
            raise ValueError(f"a {self.type} channel needs conn_id")
        if self.type == "email" and not self.to:
            raise ValueError("an email channel needs `to`")
        return self


class RouteConfig(_Strict):
    """Alerts whose labels equal every `match` entry also go to `receivers`."""

    match: dict[str, str] = Field(default_factory=dict)
    receivers: tuple[str, ...]
    #: True: a matching alert goes only to this route's receivers, not to the default ones.
    exclusive: bool = False

    @field_validator("match")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_matchers(v)


class InhibitRule(_Strict):
    """While a model has an open alert of a source kind, its target alerts are not sent."""

    source_kinds: tuple[str, ...] = ("outage", "data_quality")
    target_kinds: tuple[str, ...] = ("anomaly",)
    #: Only target alerts whose top metric is one of these (empty: any).
    target_metrics: tuple[str, ...] = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


class MaintenanceWindow(_Strict):
    """A recurring window (UTC) during which matching alerts are recorded but not sent."""

    name: str
    #: Days of the week, mon..sun; empty: every day.
    weekdays: tuple[str, ...] = ()
    start: str = Field(pattern=r"^([01]\d|2[0-3]):00$")
    duration_hours: int = Field(ge=1, le=168)
    match: dict[str, str] = Field(default_factory=dict)

    @field_validator("match")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_matchers(v)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        bad = [d for d in v if d not in days]
        if bad:
            raise ValueError(f"weekdays {bad} unknown; use {', '.join(days)}")
        return v


class LabelsConfig(_Strict):
    """Where a model's team, tier and owner come from: a table of the warehouse, if present."""

    table: str | None = "models"
    #: Our label -> the table's column; a column the table lacks is skipped.
    columns: dict[str, str] = Field(
        default_factory=lambda: {"team": "team", "tier": "tier", "owner": "owner"}
    )
    #: The table's column holding the model id.
    id_column: str = "model_id"

    @field_validator("table", "id_column")
    @classmethod
    def _ident(cls, v: str | None) -> str | None:
        if v is not None and not _IDENTIFIER.match(v):
            raise ValueError(f"{v!r} is not a plain [schema.]table identifier")
        return v

    @field_validator("columns")
    @classmethod
    def _cols(cls, v: dict[str, str]) -> dict[str, str]:
        for ours, theirs in v.items():
            if ours not in ("team", "tier", "owner"):
                raise ValueError(f"labels.columns: {ours!r} is not one of team, tier, owner")
            if not _IDENTIFIER.match(theirs) or "." in theirs:
                raise ValueError(f"labels.columns.{ours} = {theirs!r} is not a plain identifier")
        return v


class FleetIncidentConfig(_Strict):
    """Many models anomalous in the same hour is one incident, not dozens of pages."""

    min_share: float = Field(0.3, gt=0.0, le=1.0)
    min_models: int = Field(5, ge=1)


class DeliveryConfig(_Strict):
    """Retries inside a run (with exponential backoff) and across runs."""

    retries: int = Field(2, ge=0, le=10)
    backoff_s: float = Field(0.5, ge=0.0, le=60.0)
    #: A notification that failed this many times is no longer retried by later runs.
    max_attempts: int = Field(24, ge=1)


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
    # --- severity: score, persistence and the model's tier ---
    #: Anomaly alerts on models of these tiers are critical from `tier_critical_score` on ...
    critical_tiers: tuple[str, ...] = ("critical",)
    tier_critical_score: float = Field(0.98, gt=0.0, le=1.0)
    #: ... and any anomaly alert is critical once its signals span this many hours.
    escalate_after_hours: int = Field(6, ge=1)
    # --- receivers, routing and noise control ---
    #: Named receivers (channel type + Airflow connection); names not here: built-ins (log).
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    #: Label-based routes, checked in order; every matching route adds its receivers.
    routes: tuple[RouteConfig, ...] = ()
    inhibit: tuple[InhibitRule, ...] = (InhibitRule(),)
    maintenance: tuple[MaintenanceWindow, ...] = ()
    fleet: FleetIncidentConfig = FleetIncidentConfig()
    labels: LabelsConfig = LabelsConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    # --- content ---
    #: Runbook link per alert: a template with {model_id} and {kind}; `runbooks` overrides
    #: it per model.
    runbook_url: str | None = None
    runbooks: dict[str, str] = Field(default_factory=dict)
    #: The Airflow UI's address, for the link to the run that raised the alert.
    airflow_url: str = "http://localhost:8080"
    dag_id: str = "model_health"
    #: Where each hour's alert report and plots are written; env MODELWATCH_REPORT_DIR wins,
    #: and without either they go to `reports/` beside the staging folder.
    report_dir: str | None = None
    #: PNG plot of the top metrics over this many hours, for alerts that notify.
    plots: bool = True
    plot_hours: int = Field(48, ge=6, le=24 * 14)
    #: Public address of `report_dir` (e.g. an object store); plots are linked by file path
    #: when it is empty.
    report_url: str | None = None


class ScaleUpPolicy(_Strict):
    """HPA-style scale-up on capacity saturation."""

    enabled: bool = True
    target_utilisation: float = Field(0.6, gt=0.0, lt=1.0)
    #: No action while observed/target utilisation is within 1 +- tolerance (HPA's band).
    tolerance: float = Field(0.1, ge=0.0, lt=1.0)
    #: The latency and traffic robust z that, with CPU above target, mean saturation.
    min_latency_z: float = 3.0
    min_traffic_z: float = 2.0


class ScaleDownPolicy(_Strict):
    """Step-by-step scale-down after a scale-up, once the model has recovered.

    Only a model this pipeline scaled up is ever scaled down (never below the replicas it had
    before), so a fleet sized by its owners is left alone. Like HPA's scale-down stabilisation,
    the recommendation is the largest one of the window: one busy hour holds it back.
    """

    enabled: bool = True
    #: Consecutive clean, scored hours (spare capacity in each) before a step down.
    stabilisation_hours: int = Field(3, ge=1, le=48)
    #: Replicas removed per step at most.
    step: int = Field(1, ge=1)
    #: How far back a scale-up makes a model eligible for scaling down.
    lookback_hours: int = Field(24, ge=1, le=24 * 14)


class RollbackPolicy(_Strict):
    """A rollback request when errors (or latency) jump right after a version change."""

    enabled: bool = True
    #: The version change must lie at most this many hours before the end of the hour.
    within_hours: int = Field(2, ge=1, le=48)
    min_error_z: float = 4.0
    #: Absolute floor, so a tiny error rate that moved a lot is no burst.
    min_error_rate: float = Field(0.01, ge=0.0, le=1.0)
    #: Also roll back on a latency regression (latency up without more traffic) after a deploy.
    latency_regression: bool = True
    min_latency_z: float = 4.0


class RestartPolicy(_Strict):
    """A rolling restart when memory ramps up hour after hour (a leak), before it runs out."""

    enabled: bool = True
    #: Hours over which every hourly mean must exceed the one before.
    ramp_hours: int = Field(3, ge=2, le=24)
    #: Total rise over the ramp, and the level the hour must reach (fractions of memory).
    min_rise: float = Field(0.05, gt=0.0, le=1.0)
    min_memory: float = Field(0.75, gt=0.0, le=1.0)


class ApprovalPolicy(_Strict):
    """Which live actions wait for an operator (Airflow's Required Actions); the rest go at once."""

    #: Scale changes larger than this many replicas, or this percentage, need approval.
    max_auto_step: int = Field(4, ge=0)
    max_auto_step_percent: float = Field(100.0, ge=0.0)
    #: Actions that always need approval.
    actions: tuple[str, ...] = ("rollback",)


class KubernetesTargetConfig(_Strict):
    """Where a model's workload lives. Host, token and CA come from the Airflow connection."""

    conn_id: str = "modelwatch_kubernetes"
    namespace: str = "default"
    #: `deployment` (the apps/v1 scale subresource) or `inferenceservice` (KServe v1beta1).
    kind: str = "deployment"
    #: The workload's name; `{model_id}` is replaced by the model's id.
    name_template: str = "{model_id}"
    timeout_seconds: float = Field(10.0, gt=0.0)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in ("deployment", "inferenceservice"):
            raise ValueError(f"kubernetes.kind {v!r}: use deployment or inferenceservice")
        return v


class WebhookTargetConfig(_Strict):
    """A generic HTTP endpoint; its URL and token come from the Airflow connection."""

    conn_id: str = "modelwatch_remediation_webhook"
    timeout_seconds: float = Field(10.0, gt=0.0)


#: The actions remediation knows, and the targets that can carry them out.
REMEDIATION_ACTIONS = ("scale_up", "scale_down", "rollback", "restart")
REMEDIATION_TARGETS = ("log", "kubernetes", "webhook")


class RemediationConfig(_Strict):
    """Remediation policy and guardrails (fleet defaults; `models` overrides them per model)."""

    dry_run: bool = True
    scale_up: ScaleUpPolicy = ScaleUpPolicy()
    scale_down: ScaleDownPolicy = ScaleDownPolicy()
    rollback: RollbackPolicy = RollbackPolicy()
    restart: RestartPolicy = RestartPolicy()
    approval: ApprovalPolicy = ApprovalPolicy()
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(50, ge=1)
    #: Largest change of one action, in replicas and in percent of the current count.
    max_step: int = Field(10, ge=1)
    max_step_percent: float = Field(200.0, gt=0.0)
    #: Hours after an action before the same action on the same model; per-action overrides.
    cooldown_hours: int = Field(3, ge=0)
    cooldowns: dict[str, int] = Field(default_factory=lambda: {"rollback": 6, "restart": 6})
    #: A scale request not yet visible in the observed replicas blocks another for this long.
    inflight_hours: int = Field(6, ge=0)
    #: Fleet-wide caps on actions (dispatched, approved, awaiting or, in a dry run, proposed).
    max_actions_per_hour: int = Field(10, ge=0)
    max_actions_per_day: int = Field(30, ge=0)
    #: Failed dispatches are retried by later runs within this many hours, this often at most.
    retry_hours: int = Field(3, ge=0)
    max_attempts: int = Field(3, ge=1)
    #: Where requests go: the default target, and per-action overrides.
    target: str = "log"
    targets: dict[str, str] = Field(default_factory=dict)
    kubernetes: KubernetesTargetConfig = KubernetesTargetConfig()
    webhook: WebhookTargetConfig = WebhookTargetConfig()
    #: Per-model overrides of any setting above, e.g. {"fraud-v2": {"max_replicas": 80}}.
    models: dict[str, dict[str, object]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _bounds(self) -> RemediationConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("remediation.min_replicas must not exceed max_replicas")
        for action in [*self.cooldowns, *self.targets, *self.approval.actions]:
            if action not in REMEDIATION_ACTIONS:
                known = ", ".join(REMEDIATION_ACTIONS)
                raise ValueError(f"remediation: unknown action {action!r}; known: {known}")
        for name in [self.target, *self.targets.values()]:
            if name not in REMEDIATION_TARGETS:
                known = ", ".join(REMEDIATION_TARGETS)
                raise ValueError(f"remediation: unknown target {name!r}; known: {known}")
        for model_id, override in self.models.items():
            if "models" in override:
                raise ValueError(f"remediation.models.{model_id} cannot nest `models`")
            try:
                self.for_model(model_id)
            except ValueError as exc:
                raise ValueError(f"remediation.models.{model_id} is invalid: {exc}") from exc
        return self

    def cooldown(self, action: str) -> int:
        return self.cooldowns.get(action, self.cooldown_hours)

    def target_for(self, action: str) -> str:
        return self.targets.get(action, self.target)

    def for_model(self, model_id: str) -> RemediationConfig:
        """This model's settings: the fleet defaults with its override merged in (deeply, so
        `{"scale_up": {"target_utilisation": 0.5}}` keeps the other scale-up settings)."""
        override = self.models.get(model_id)
        if not override:
            return self

        def merge(base: dict[str, object], extra: dict[str, object]) -> dict[str, object]:
            out = dict(base)
            for key, value in extra.items():
                old = out.get(key)
                is_map = isinstance(old, dict) and isinstance(value, dict)
                out[key] = merge(old, value) if is_map else value  # type: ignore[arg-type]
            return out

        merged = merge(self.model_dump(exclude={"models"}), override)
        return RemediationConfig.model_validate(merged)


class Settings(_Strict):
    """All of modelwatch's settings."""

    source: SourceConfig = SourceConfig()
    validation: ValidationConfig = ValidationConfig()
    detection: DetectionConfig = DetectionConfig()
    alerts: AlertsConfig = AlertsConfig()
    remediation: RemediationConfig = RemediationConfig()
    #: Models per detect task (a mapped task instance each). Empty: chosen from the fleet's
    #: size, about `shard_target_size` models a shard and at most `max_shards` shards, so the
    #: number of task instances grows with shards, not models (see sharding.py).
    shard_size: int | None = Field(None, ge=1)
    shard_target_size: int = Field(250, ge=1)
    max_shards: int = Field(32, ge=1)
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
