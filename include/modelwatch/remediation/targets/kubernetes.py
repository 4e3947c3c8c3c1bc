"""Kubernetes through the official `kubernetes` Python client.

Scaling goes through a Deployment's `scale` subresource (`AppsV1Api.read/patch_namespaced_
deployment_scale`, what `kubectl scale` uses), or a KServe InferenceService's
`spec.predictor.minReplicas`/`maxReplicas` (`CustomObjectsApi`). A restart patches the pod
template's `kubectl.kubernetes.io/restartedAt` annotation, as `kubectl rollout restart` does.
Rollbacks are not done here: apps/v1 has no rollback call, so route them to a webhook (the
deploy system knows the previous release).

Safety and idempotency:
- the patch is a JSON merge patch carrying the `resourceVersion` just read, so a concurrent
  change (HPA, another operator) makes the API server answer 409 instead of being overwritten;
  the request fails and a later run retries it against the new state;
- counts are absolute and checked first: a workload that already has the replicas asked for is
  reported `applied` without a write, so a request sent twice scales once;
- the restart stamp is the request's hour, so sending the same restart again changes nothing.

The API server, token and CA come from an Airflow connection: host = API server URL, password =
bearer token, extra `ca_cert` (PEM text) or `ca_cert_path`, optional `verify_ssl`.
"""

from __future__ import annotations

from typing import Any

from modelwatch.config import KubernetesTargetConfig
from modelwatch.remediation.targets.base import (
    APPLIED,
    DISPATCHED,
    FAILED,
    ConnectionFields,
    Outcome,
    TargetError,
)

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
FIELD_MANAGER = "modelwatch"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
REQUEST_ANNOTATION = "modelwatch.io/request-id"
KSERVE = ("serving.kserve.io", "v1beta1", "inferenceservices")


def _truthy(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off")
    return bool(value)


def configuration(conn: ConnectionFields) -> Any:
    """A `kubernetes.client.Configuration` for this connection (never the global default)."""
    from kubernetes import client

    cfg = client.Configuration(host=conn.url())
    token = conn.password or conn.extra.get("token")
    if token:
        cfg.api_key = {"BearerToken": str(token)}
        cfg.api_key_prefix = {"BearerToken": "Bearer"}
    if conn.extra.get("ca_cert"):
        cfg.ca_cert_data = str(conn.extra["ca_cert"])
    elif conn.extra.get("ca_cert_path"):
        cfg.ssl_ca_cert = str(conn.extra["ca_cert_path"])
    cfg.verify_ssl = _truthy(conn.extra.get("verify_ssl"), True)
    return cfg


class KubernetesTarget:
    """Scales (and restarts) the workload named after the model."""

    name = "kubernetes"

    def __init__(
        self, conn: ConnectionFields, cfg: KubernetesTargetConfig, api_client: Any = None
    ) -> None:
        from kubernetes import client

        self.cfg = cfg
        self.namespace = str(conn.extra.get("namespace") or cfg.namespace)
        self.api_client = api_client or client.ApiClient(configuration(conn))
        self.apps = client.AppsV1Api(self.api_client)
        self.custom = client.CustomObjectsApi(self.api_client)
        if cfg.kind == "deployment":
            self.actions = frozenset(("scale_up", "scale_down", "restart"))
        else:
            self.actions = frozenset(("scale_up", "scale_down"))

    def workload(self, model_id: str) -> str:
        return self.cfg.name_template.format(model_id=model_id)

    def apply(self, request: dict[str, Any]) -> Outcome:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        name = self.workload(request["model_id"])
        where = f"{self.cfg.kind} {self.namespace}/{name}"
        try:
            if request["action"] == "restart":
                return self._restart(name, where, request)
            if request["action"] in ("scale_up", "scale_down"):
                if self.cfg.kind == "deployment":
                    return self._scale_deployment(name, where, request)
                return self._scale_inference_service(name, where, request)
            return Outcome(FAILED, f"{where}: cannot {request['action']}", permanent=True)
        except ApiException as exc:
            return _api_failure(exc, where)
        except HTTPError as exc:
            return Outcome(FAILED, f"{where}: API server unreachable: {type(exc).__name__}")

    # ------------------------------------------------------------------------------ deployment
    def _scale_deployment(self, name: str, where: str, request: dict[str, Any]) -> Outcome:
        scale = self.apps.read_namespaced_deployment_scale(
            name, self.namespace, _request_timeout=self.cfg.timeout_seconds
        )
        current = int(scale.spec.replicas or 0)
        done = _already(request, current)
        if done:
            return Outcome(APPLIED, f"{where} {done}")
        body = {
            "metadata": {"resourceVersion": scale.metadata.resource_version},
            "spec": {"replicas": int(request["to_replicas"])},
        }
        got = self.apps.patch_namespaced_deployment_scale(
            name,
            self.namespace,
            body,
            field_manager=FIELD_MANAGER,
            _content_type=MERGE_PATCH,
            _request_timeout=self.cfg.timeout_seconds,
        )
        return Outcome(DISPATCHED, f"{where} scaled {current} -> {got.spec.replicas}")

    def _restart(self, name: str, where: str, request: dict[str, Any]) -> Outcome:
        if self.cfg.kind != "deployment":
            return Outcome(FAILED, f"{where}: restart needs a deployment", permanent=True)
        stamp = request["hour"] + ("Z" if "+" not in request["hour"] else "")
        body = {
            "spec": {
                "template": {
                    "metadata": {
                        "annotations": {
                            RESTARTED_AT: stamp,
                            REQUEST_ANNOTATION: request["request_id"],
                        }
                    }
                }
            }
        }
        self.apps.patch_namespaced_deployment(
            name,
            self.namespace,
            body,
            field_manager=FIELD_MANAGER,
            _content_type=STRATEGIC_MERGE_PATCH,
            _request_timeout=self.cfg.timeout_seconds,
        )
        return Outcome(DISPATCHED, f"{where} rolling restart ({RESTARTED_AT}={stamp})")

    # ------------------------------------------------------------------------------- KServe
    def _scale_inference_service(self, name: str, where: str, request: dict[str, Any]) -> Outcome:
        group, version, plural = KSERVE
        isvc = self.custom.get_namespaced_custom_object(
            group, version, self.namespace, plural, name, _request_timeout=self.cfg.timeout_seconds
        )
        predictor = (isvc.get("spec") or {}).get("predictor") or {}
        current = int(predictor.get("minReplicas", 1))
        done = _already(request, current)
        if done:
            return Outcome(APPLIED, f"{where} minReplicas {done}")
        to = int(request["to_replicas"])
        spec: dict[str, Any] = {"minReplicas": to}
        if predictor.get("maxReplicas") and int(predictor["maxReplicas"]) < to:
            spec["maxReplicas"] = to
        body = {
            "metadata": {"resourceVersion": (isvc.get("metadata") or {}).get("resourceVersion")},
            "spec": {"predictor": spec},
        }
        self.custom.patch_namespaced_custom_object(
            group,
            version,
            self.namespace,
            plural,
            name,
            body,
            field_manager=FIELD_MANAGER,
            _content_type=MERGE_PATCH,
            _request_timeout=self.cfg.timeout_seconds,
        )
        return Outcome(DISPATCHED, f"{where} minReplicas {current} -> {to}")


def _already(request: dict[str, Any], current: int) -> str | None:
    """Whether the workload already is where the request wants it (sent before, or scaled by
    someone else): then there is nothing to write."""
    to = request.get("to_replicas")
    if to is None:
        raise TargetError(f"request {request['request_id']} has no to_replicas")
    if request["action"] == "scale_up" and current >= int(to):
        return f"already has {current} replicas (asked {to})"
    if request["action"] == "scale_down" and current <= int(to):
        return f"already has {current} replicas (asked {to})"
    return None


def _api_failure(exc: Any, where: str) -> Outcome:
    status = int(exc.status or 0)
    if status == 404:
        return Outcome(FAILED, f"{where} not found (HTTP 404)", permanent=True)
    if status in (401, 403):
        return Outcome(
            FAILED,
            f"{where}: HTTP {status} {exc.reason}: the connection's token may not do this "
            "(RBAC: get/patch on deployments/scale, deployments, or inferenceservices)",
            permanent=True,
        )
    if status == 409:
        return Outcome(FAILED, f"{where}: HTTP 409 conflict: it changed while being scaled")
    if status == 422 or status == 400:
        return Outcome(FAILED, f"{where}: HTTP {status} {exc.reason}", permanent=True)
    return Outcome(FAILED, f"{where}: HTTP {status} {exc.reason}")
