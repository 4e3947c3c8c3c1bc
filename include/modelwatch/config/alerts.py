"""The `alerts` section: lifecycle rules, severity, receivers, routing and noise control."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from modelwatch.config.base import IDENTIFIER, StrictModel


class AlertRule(StrictModel):
    """When a signal opens an alert, and when it resolves."""

    n: int = Field(
        1,
        ge=1,
        description="Open when the signal held in at least `n` of the last `m` hours (n = m: a "
        "persistence rule).",
    )
    m: int = Field(1, ge=1, description="The window of hours `n` counts in (at least `n`).")
    recovery_hours: int = Field(
        2,
        ge=1,
        description="Resolve after this many consecutive hours without the signal.",
    )

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

    type: str = Field(
        description="The channel: `log`, `alertmanager`, `slack`, `email` or `webhook`."
    )
    conn_id: str | None = Field(
        None,
        description="The Airflow connection holding its address and secret (alertmanager, "
        "webhook: http; slack: slackwebhook; email: smtp); every type but `log` needs one.",
    )
    optional: bool = Field(
        False,
        description="Leave the receiver out (no rows, no failures) while its connection is not "
        "defined, so one config serves a laptop without Alertmanager and production with it.",
    )
    to: tuple[str, ...] = Field((), description="`email` only: the recipients.")
    timeout_s: float = Field(
        10.0,
        gt=0.0,
        le=300.0,
        description="Seconds one delivery attempt may take before it counts as failed.",
    )

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

    match: dict[str, str] = Field(
        default_factory=dict,
        description="Label -> value (`model_id`, `kind`, `severity`, `team`, `tier`, "
        "`owner`); an alert matches when it carries every one. Empty: every alert.",
    )
    receivers: tuple[str, ...] = Field(
        description="Receivers (names of `alerts.channels`, or `log`) a matching alert also "
        "goes to."
    )
    exclusive: bool = Field(
        False,
        description="A matching alert goes only to this route's receivers, not to "
        "`alerts.receivers`.",
    )

    @field_validator("match")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        return check_matchers(v)


class InhibitRule(StrictModel):
    """While a model has an open alert of a source kind, its target alerts are not sent."""

    source_kinds: tuple[str, ...] = Field(
        ("outage", "data_quality"),
        description="Alert kinds that, open on a model, hold back its target alerts.",
    )
    target_kinds: tuple[str, ...] = Field(
        ("anomaly",), description="Alert kinds held back while a source alert is open."
    )
    target_metrics: tuple[str, ...] = Field(
        ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"),
        description="Only target alerts whose top metric is one of these (empty: any).",
    )


class MaintenanceWindow(StrictModel):
    """A recurring window (UTC) during which matching alerts are recorded but not sent."""

    name: str = Field(description="The window's name, recorded with what it held back.")
    weekdays: tuple[str, ...] = Field(
        (), description="Days of the week it recurs on, `mon`..`sun`; empty: every day."
    )
    start: str = Field(
        pattern=r"^([01]\d|2[0-3]):00$",
        description="When it begins, a whole hour in UTC (`HH:00`).",
    )
    duration_hours: int = Field(ge=1, le=168, description="How long it lasts, in hours.")
    match: dict[str, str] = Field(
        default_factory=dict,
        description="Labels the alerts it holds back carry (as a route's `match`); empty: "
        "every alert.",
    )

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

    table: str | None = Field(
        "models",
        description="The warehouse table of model labels (null: no labels); a missing table "
        "is fine.",
    )
    columns: dict[str, str] = Field(
        default_factory=lambda: {"team": "team", "tier": "tier", "owner": "owner"},
        description="Our label (`team`, `tier`, `owner`) -> the table's column; a column the "
        "table lacks is skipped.",
    )
    id_column: str = Field("model_id", description="The table's column holding the model id.")

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

    min_share: float = Field(
        0.3,
        gt=0.0,
        le=1.0,
        description="Share of the hour's scored models that must be anomalous for one fleet "
        "incident (and at least `min_models`).",
    )
    min_models: int = Field(
        5, ge=1, description="Anomalous models a fleet incident needs at least."
    )


class DeliveryConfig(StrictModel):
    """Retries inside a run (with exponential backoff) and across runs."""

    retries: int = Field(2, ge=0, le=10, description="Retries of a failed delivery inside the run.")
    backoff_s: float = Field(
        0.5,
        ge=0.0,
        le=60.0,
        description="Seconds before the first retry; doubled for each next one.",
    )
    max_attempts: int = Field(
        24,
        ge=1,
        description="A notification that failed this many times is no longer retried by later "
        "runs.",
    )


class AlertsConfig(StrictModel):
    """Alert lifecycle and routing."""

    anomaly: AlertRule = Field(
        AlertRule(n=2, m=3, recovery_hours=2),
        description="When an anomaly alert opens and resolves.",
    )
    outage: AlertRule = Field(
        AlertRule(n=1, m=1, recovery_hours=1),
        description="When an outage alert (a model without metrics) opens and resolves.",
    )
    data_quality: AlertRule = Field(
        AlertRule(n=1, m=1, recovery_hours=1),
        description="When a data-quality alert (a quarantined hour) opens and resolves.",
    )
    drift: AlertRule = Field(
        AlertRule(n=3, m=6, recovery_hours=3),
        description="When a drift alert opens and resolves: drift builds up over hours, and "
        "one odd hour of a small sample is no trend.",
    )
    critical_score: float = Field(
        0.999,
        gt=0.0,
        le=1.0,
        description="A score at or above this opens an anomaly alert at once, without waiting "
        "for n of m, as critical.",
    )
    repeat_interval_hours: int = Field(
        4, ge=1, description="An open alert is notified again after this many hours."
    )
    receivers: tuple[str, ...] = Field(
        ("log",),
        description="Receivers notified for every alert: names of `channels`, or the built-in "
        "`log`.",
    )
    # --- severity: score, persistence and the model's tier ---
    critical_tiers: tuple[str, ...] = Field(
        ("critical",),
        description="Anomaly alerts on models of these tiers are critical from "
        "`tier_critical_score` on.",
    )
    tier_critical_score: float = Field(
        0.98,
        gt=0.0,
        le=1.0,
        description="The score from which anomaly alerts on `critical_tiers` models are critical.",
    )
    escalate_after_hours: int = Field(
        6,
        ge=1,
        description="Any anomaly alert is critical once its signals span this many hours.",
    )
    # --- receivers, routing and noise control ---
    channels: dict[str, ChannelConfig] = Field(
        default_factory=dict,
        description="Named receivers: a channel type and the Airflow connection with its "
        "address and secret.",
    )
    routes: tuple[RouteConfig, ...] = Field(
        (),
        description="Label-based routes, checked in order; every matching route adds its "
        "receivers.",
    )
    inhibit: tuple[InhibitRule, ...] = Field(
        (InhibitRule(),),
        description="Inhibition: a model's open alert of one kind holds back its alerts of "
        "another.",
    )
    maintenance: tuple[MaintenanceWindow, ...] = Field(
        (),
        description="Recurring maintenance windows (UTC): matching alerts are recorded, not sent.",
    )
    fleet: FleetIncidentConfig = Field(
        FleetIncidentConfig(),
        description="Many models anomalous in one hour: one fleet incident instead of a page "
        "per model.",
    )
    labels: LabelsConfig = Field(
        LabelsConfig(),
        description="Where a model's team, tier and owner come from (for routes, silences, "
        "overrides).",
    )
    delivery: DeliveryConfig = Field(
        DeliveryConfig(),
        description="Retries of failed deliveries, inside a run and across runs.",
    )
    # --- content ---
    runbook_url: str | None = Field(
        None,
        description="Runbook link per alert: a template with `{model_id}` and `{kind}`; "
        "`runbooks` overrides it per model.",
    )
    runbooks: dict[str, str] = Field(
        default_factory=dict, description="Model id -> its runbook's URL."
    )
    airflow_url: str = Field(
        "http://localhost:8080",
        description="The Airflow UI's address, for the link to the run that raised the alert.",
    )
    dag_id: str = Field("model_health", description="The DAG whose runs the alerts link to.")
    report_dir: str | None = Field(
        None,
        description="Where each hour's alert report and plots are written: a local folder "
        "or a store URL like `staging_dir`'s (`s3://aws_default@bucket/modelwatch/reports`); "
        "env `MODELWATCH_REPORT_DIR` wins, and without either they go to `reports/` beside "
        "the staging folder.",
    )
    plots: bool = Field(
        True, description="Attach a PNG plot of the top metrics to alerts that notify."
    )
    plot_hours: int = Field(48, ge=6, le=24 * 14, description="Hours of history the plot shows.")
    report_url: str | None = Field(
        None,
        description="Public address of `report_dir` (e.g. an object store); plots are linked "
        "by file path when it is empty.",
    )
