"""The `alerts` section: lifecycle rules, severity, receivers, routing and noise control."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from modelwatch.config.base import IDENTIFIER, StrictModel


class AlertRule(StrictModel):
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


def check_matchers(v: dict[str, str]) -> dict[str, str]:
    """Refuse matchers on labels an alert does not carry (they would never match)."""
    for key in v:
        if key not in ALERT_LABELS:
            raise ValueError(f"unknown label {key!r}; known: {', '.join(ALERT_LABELS)}")
    return v


class ChannelConfig(StrictModel):
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


class RouteConfig(StrictModel):
    """Alerts whose labels equal every `match` entry also go to `receivers`."""

    match: dict[str, str] = Field(default_factory=dict)
    receivers: tuple[str, ...]
    #: True: a matching alert goes only to this route's receivers, not to the default ones.
    exclusive: bool = False

    @field_validator("match")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        return check_matchers(v)


class InhibitRule(StrictModel):
    """While a model has an open alert of a source kind, its target alerts are not sent."""

    source_kinds: tuple[str, ...] = ("outage", "data_quality")
    target_kinds: tuple[str, ...] = ("anomaly",)
    #: Only target alerts whose top metric is one of these (empty: any).
    target_metrics: tuple[str, ...] = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


class MaintenanceWindow(StrictModel):
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
        return check_matchers(v)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        bad = [d for d in v if d not in days]
        if bad:
            raise ValueError(f"weekdays {bad} unknown; use {', '.join(days)}")
        return v


class LabelsConfig(StrictModel):
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
        if v is not None and not IDENTIFIER.match(v):
            raise ValueError(f"{v!r} is not a plain [schema.]table identifier")
        return v

    @field_validator("columns")
    @classmethod
    def _cols(cls, v: dict[str, str]) -> dict[str, str]:
        for ours, theirs in v.items():
            if ours not in ("team", "tier", "owner"):
                raise ValueError(f"labels.columns: {ours!r} is not one of team, tier, owner")
            if not IDENTIFIER.match(theirs) or "." in theirs:
                raise ValueError(f"labels.columns.{ours} = {theirs!r} is not a plain identifier")
        return v


class FleetIncidentConfig(StrictModel):
    """Many models anomalous in the same hour is one incident, not dozens of pages."""

    min_share: float = Field(0.3, gt=0.0, le=1.0)
    min_models: int = Field(5, ge=1)


class DeliveryConfig(StrictModel):
    """Retries inside a run (with exponential backoff) and across runs."""

    retries: int = Field(2, ge=0, le=10)
    backoff_s: float = Field(0.5, ge=0.0, le=60.0)
    #: A notification that failed this many times is no longer retried by later runs.
    max_attempts: int = Field(24, ge=1)


class AlertsConfig(StrictModel):
    """Alert lifecycle and routing."""

    anomaly: AlertRule = AlertRule(n=2, m=3, recovery_hours=2)
    outage: AlertRule = AlertRule(n=1, m=1, recovery_hours=1)
    data_quality: AlertRule = AlertRule(n=1, m=1, recovery_hours=1)
    #: Drift builds up over hours (and one odd hour of a small sample is no trend).
    drift: AlertRule = AlertRule(n=3, m=6, recovery_hours=3)
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
