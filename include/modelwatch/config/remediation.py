"""The `remediation` section: policies, guardrails, approval and targets (with per-model
overrides)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from modelwatch.config.base import StrictModel


class ScaleUpPolicy(StrictModel):
    """HPA-style scale-up on capacity saturation."""

    enabled: bool = Field(True, description="Request scale-ups on capacity saturation.")
    target_utilisation: float = Field(
        0.6,
        gt=0.0,
        lt=1.0,
        description="The CPU utilisation a scale-up aims at: replicas become "
        "ceil(replicas x utilisation / target), as HPA computes them.",
    )
    tolerance: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="No action while observed/target utilisation is within 1 +- tolerance "
        "(HPA's band).",
    )
    min_latency_z: float = Field(
        3.0,
        description="The latency robust z that, with traffic up and CPU above target, means "
        "saturation.",
    )
    min_traffic_z: float = Field(
        2.0,
        description="The traffic robust z that, with latency up and CPU above target, means "
        "saturation.",
    )


class ScaleDownPolicy(StrictModel):
    """Step-by-step scale-down after a scale-up, once the model has recovered.

    Only a model this pipeline scaled up is ever scaled down (never below the replicas it had
    before), so a fleet sized by its owners is left alone. Like HPA's scale-down stabilisation,
    the recommendation is the largest one of the window: one busy hour holds it back.
    """

    enabled: bool = Field(
        True, description="Step back down after a scale-up this pipeline requested."
    )
    stabilisation_hours: int = Field(
        3,
        ge=1,
        le=48,
        description="Consecutive clean, scored hours (spare capacity in each) before a step down.",
    )
    step: int = Field(1, ge=1, description="Replicas removed per step at most.")
    lookback_hours: int = Field(
        24,
        ge=1,
        le=24 * 14,
        description="How far back a scale-up makes a model eligible for scaling down.",
    )


class RollbackPolicy(StrictModel):
    """A rollback request when errors (or latency) jump right after a version change."""

    enabled: bool = Field(
        True, description="Request rollbacks of bursts that follow a version change."
    )
    within_hours: int = Field(
        2,
        ge=1,
        le=48,
        description="The version change must lie at most this many hours before the end of the "
        "hour.",
    )
    min_error_z: float = Field(
        4.0, description="The error rate's robust z from which the errors are a burst."
    )
    min_error_rate: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="Absolute floor of the error rate, so a tiny error rate that moved a lot "
        "is no burst.",
    )
    latency_regression: bool = Field(
        True,
        description="Also roll back on a latency regression (latency up without more traffic) "
        "after a deploy.",
    )
    min_latency_z: float = Field(
        4.0, description="The latency robust z from which latency has regressed."
    )


class RestartPolicy(StrictModel):
    """A rolling restart when memory ramps up hour after hour (a leak), before it runs out."""

    enabled: bool = Field(True, description="Request rolling restarts of memory leaks.")
    ramp_hours: int = Field(
        3,
        ge=2,
        le=24,
        description="Hours over which every hourly mean of memory must exceed the one before.",
    )
    min_rise: float = Field(
        0.05,
        gt=0.0,
        le=1.0,
        description="The memory's total rise over the ramp at least (a fraction of memory).",
    )
    min_memory: float = Field(
        0.75,
        gt=0.0,
        le=1.0,
        description="The memory level the hour must reach (a fraction of memory).",
    )


class ApprovalPolicy(StrictModel):
    """Which live actions wait for an operator (Airflow's Required Actions); the rest go at once."""

    max_auto_step: int = Field(
        4,
        ge=0,
        description="Scale changes larger than this many replicas need approval.",
    )
    max_auto_step_percent: float = Field(
        100.0,
        ge=0.0,
        description="Scale changes larger than this percentage of the current replicas need "
        "approval.",
    )
    actions: tuple[str, ...] = Field(
        ("rollback",), description="Actions that always need approval."
    )


class KubernetesTargetConfig(StrictModel):
    """Where a model's workload lives. Host, token and CA come from the Airflow connection."""

    conn_id: str = Field(
        "modelwatch_kubernetes",
        description="The Airflow connection with the API server's host, token and CA.",
    )
    namespace: str = Field("default", description="The namespace of the models' workloads.")
    kind: str = Field(
        "deployment",
        description="`deployment` (the apps/v1 scale subresource) or `inferenceservice` "
        "(KServe v1beta1).",
    )
    name_template: str = Field(
        "{model_id}",
        description="The workload's name; `{model_id}` is replaced by the model's id.",
    )
    timeout_seconds: float = Field(
        10.0, gt=0.0, description="Seconds one request to the API server may take."
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        if v not in ("deployment", "inferenceservice"):
            raise ValueError(f"kubernetes.kind {v!r}: use deployment or inferenceservice")
        return v


class WebhookTargetConfig(StrictModel):
    """A generic HTTP endpoint; its URL and token come from the Airflow connection."""

    conn_id: str = Field(
        "modelwatch_remediation_webhook",
        description="The Airflow connection with the endpoint's URL and token.",
    )
    timeout_seconds: float = Field(10.0, gt=0.0, description="Seconds one request may take.")


#: The actions remediation knows, and the targets that can carry them out.
REMEDIATION_ACTIONS = ("scale_up", "scale_down", "rollback", "restart")
REMEDIATION_TARGETS = ("log", "kubernetes", "webhook")


class RemediationConfig(StrictModel):
    """Remediation policy and guardrails (fleet defaults; `models` overrides them per model)."""

    dry_run: bool = Field(
        True,
        description="Scheduled runs record requests without dispatching them (manual runs "
        "take the `dry_run` param; backfills never act).",
    )
    scale_up: ScaleUpPolicy = Field(
        ScaleUpPolicy(), description="HPA-style scale-up on capacity saturation."
    )
    scale_down: ScaleDownPolicy = Field(
        ScaleDownPolicy(),
        description="Step-by-step scale-down after a scale-up, once the model has recovered.",
    )
    rollback: RollbackPolicy = Field(
        RollbackPolicy(),
        description="A rollback request when errors (or latency) jump right after a version "
        "change.",
    )
    restart: RestartPolicy = Field(
        RestartPolicy(),
        description="A rolling restart when memory ramps up hour after hour (a leak).",
    )
    approval: ApprovalPolicy = Field(
        ApprovalPolicy(),
        description="Which live actions wait for an operator in Airflow (Required Actions).",
    )
    min_replicas: int = Field(1, ge=0, description="No action leaves fewer replicas.")
    max_replicas: int = Field(50, ge=1, description="No action leaves more replicas.")
    max_step: int = Field(10, ge=1, description="Largest change of one action, in replicas.")
    max_step_percent: float = Field(
        200.0,
        gt=0.0,
        description="Largest change of one action, in percent of the current replicas.",
    )
    cooldown_hours: int = Field(
        3,
        ge=0,
        description="Hours after an action before the same action on the same model.",
    )
    cooldowns: dict[str, int] = Field(
        default_factory=lambda: {"rollback": 6, "restart": 6},
        description="Action -> its own cooldown in hours, instead of `cooldown_hours`.",
    )
    inflight_hours: int = Field(
        6,
        ge=0,
        description="A scale request not yet visible in the observed replicas blocks another "
        "for this long.",
    )
    max_actions_per_hour: int = Field(
        10,
        ge=0,
        description="Fleet-wide cap on actions per hour (dispatched, approved, awaiting or, in "
        "a dry run, proposed).",
    )
    max_actions_per_day: int = Field(
        30, ge=0, description="Fleet-wide cap on actions per rolling 24 hours."
    )
    retry_hours: int = Field(
        3,
        ge=0,
        description="Failed dispatches are retried by later runs within this many hours.",
    )
    max_attempts: int = Field(3, ge=1, description="Dispatch attempts of one request at most.")
    target: str = Field(
        "log",
        description="Where requests go: `log`, `kubernetes` or `webhook` (hosts and tokens "
        "live in Airflow connections).",
    )
    targets: dict[str, str] = Field(
        default_factory=dict,
        description="Action -> its own target, e.g. `{rollback: webhook}`.",
    )
    kubernetes: KubernetesTargetConfig = Field(
        KubernetesTargetConfig(),
        description="The `kubernetes` target: where a model's workload lives.",
    )
    webhook: WebhookTargetConfig = Field(
        WebhookTargetConfig(), description="The `webhook` target: a generic HTTP endpoint."
    )
    models: dict[str, dict[str, object]] = Field(
        default_factory=dict,
        description="Per-model overrides of any setting above, merged deeply, e.g. "
        "`{fraud-v2: {max_replicas: 80}}`.",
    )

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
