"""The `remediation` section: policies, guardrails, approval and targets (with per-model
overrides)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from modelwatch.config.base import StrictModel


class ScaleUpPolicy(StrictModel):
    """HPA-style scale-up on capacity saturation."""

    enabled: bool = True
    target_utilisation: float = Field(0.6, gt=0.0, lt=1.0)
    #: No action while observed/target utilisation is within 1 +- tolerance (HPA's band).
    tolerance: float = Field(0.1, ge=0.0, lt=1.0)
    #: The latency and traffic robust z that, with CPU above target, mean saturation.
    min_latency_z: float = 3.0
    min_traffic_z: float = 2.0


class ScaleDownPolicy(StrictModel):
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


class RollbackPolicy(StrictModel):
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


class RestartPolicy(StrictModel):
    """A rolling restart when memory ramps up hour after hour (a leak), before it runs out."""

    enabled: bool = True
    #: Hours over which every hourly mean must exceed the one before.
    ramp_hours: int = Field(3, ge=2, le=24)
    #: Total rise over the ramp, and the level the hour must reach (fractions of memory).
    min_rise: float = Field(0.05, gt=0.0, le=1.0)
    min_memory: float = Field(0.75, gt=0.0, le=1.0)


class ApprovalPolicy(StrictModel):
    """Which live actions wait for an operator (Airflow's Required Actions); the rest go at once."""

    #: Scale changes larger than this many replicas, or this percentage, need approval.
    max_auto_step: int = Field(4, ge=0)
    max_auto_step_percent: float = Field(100.0, ge=0.0)
    #: Actions that always need approval.
    actions: tuple[str, ...] = ("rollback",)


class KubernetesTargetConfig(StrictModel):
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


class WebhookTargetConfig(StrictModel):
    """A generic HTTP endpoint; its URL and token come from the Airflow connection."""

    conn_id: str = "modelwatch_remediation_webhook"
    timeout_seconds: float = Field(10.0, gt=0.0)


#: The actions remediation knows, and the targets that can carry them out.
REMEDIATION_ACTIONS = ("scale_up", "scale_down", "rollback", "restart")
REMEDIATION_TARGETS = ("log", "kubernetes", "webhook")


class RemediationConfig(StrictModel):
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
