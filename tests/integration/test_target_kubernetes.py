"""The Kubernetes target, through the official `kubernetes` client, against a fake API server.

No Kubernetes API server can run here, so these tests run the real client (its Configuration,
ApiClient, AppsV1Api and CustomObjectsApi) against a small `http.server` on 127.0.0.1 that
implements the documented endpoints the target uses, with the API server's status codes:

- GET and PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name}/scale (the scale
  subresource; 404 for an unknown deployment, 403 for one the token may not touch, 409 when the
  patch's resourceVersion is stale, 415 for a patch type the endpoint does not take);
- PATCH /apis/apps/v1/namespaces/{ns}/deployments/{name} (the restart annotation);
- GET and PATCH /apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}.

It records every request (method, path, query, headers, JSON body), so the tests assert the exact
bytes the client sends: the merge-patch content type, the bearer token, the body.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from modelwatch.config import KubernetesTargetConfig
from modelwatch.remediation.targets import APPLIED, DISPATCHED, FAILED, ConnectionFields
from modelwatch.remediation.targets.kubernetes import (
    MERGE_PATCH,
    RESTARTED_AT,
    STRATEGIC_MERGE_PATCH,
    KubernetesTarget,
)

TOKEN = "s3cr3t-token"
SCALE = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)/scale$")
DEPLOYMENT = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)$")
ISVC = re.compile(r"^/apis/serving.kserve.io/v1beta1/namespaces/([^/]+)/inferenceservices/([^/]+)$")
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)


@dataclass
class Workload:
    replicas: int
    resource_version: int = 100
    annotations: dict[str, str] = field(default_factory=dict)
    rollouts: int = 0
    max_replicas: int | None = None


@dataclass
class FakeCluster:
    """The API server's state; tests arrange it and read it back."""

    deployments: dict[tuple[str, str], Workload] = field(default_factory=dict)
    services: dict[tuple[str, str], Workload] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)
    #: Names whose resourceVersion moves right before the next PATCH (a concurrent writer).
    race: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def scale_json(ns: str, name: str, w: Workload) -> dict[str, Any]:
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": str(w.resource_version)},
        "spec": {"replicas": w.replicas},
        "status": {"replicas": w.replicas, "selector": f"app={name}"},
    }


def deployment_json(ns: str, name: str, w: Workload) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": str(w.resource_version)},
        "spec": {
            "replicas": w.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": dict(w.annotations)},
                "spec": {"containers": [{"name": "model", "image": "serving:1"}]},
            },
        },
    }


def isvc_json(ns: str, name: str, w: Workload) -> dict[str, Any]:
    predictor: dict[str, Any] = {"minReplicas": w.replicas, "model": {"modelFormat": {}}}
    if w.max_replicas is not None:
        predictor["maxReplicas"] = w.max_replicas
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": str(w.resource_version)},
        "spec": {"predictor": predictor},
    }


def make_handler(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the test output clean
            pass

        def _reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> dict[str, Any]:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            entry = {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query),
                "content_type": self.headers.get("Content-Type"),
                "authorization": self.headers.get("Authorization"),
                "body": json.loads(raw) if raw else None,
            }
            cluster.requests.append(entry)
            return entry

        def do_GET(self) -> None:
            self._handle(self._record())

        def do_PATCH(self) -> None:
            self._handle(self._record())

        def _handle(self, req: dict[str, Any]) -> None:
            if req["authorization"] != f"Bearer {TOKEN}":
                return self._reply(401, status(401, "Unauthorized", "Unauthorized"))
            for pattern, table, render in (
                (SCALE, cluster.deployments, scale_json),
                (ISVC, cluster.services, isvc_json),
                (DEPLOYMENT, cluster.deployments, None),
            ):
                m = pattern.match(req["path"])
                if m:
                    return self._resource(req, m.group(1), m.group(2), table, render)
            return self._reply(404, status(404, "NotFound", "the server could not find it"))

        def _resource(self, req, ns, name, table, render) -> None:
            if name in cluster.forbidden:
                msg = f'cannot {req["method"].lower()} resource in namespace "{ns}"'
                return self._reply(403, status(403, "Forbidden", msg))
            w = table.get((ns, name))
            if w is None:
                return self._reply(404, status(404, "NotFound", f'"{name}" not found'))
            if req["method"] == "GET":
                return self._reply(200, render(ns, name, w))
            if req["content_type"] not in PATCH_TYPES:
                return self._reply(415, status(415, "UnsupportedMediaType", "bad patch type"))
            if req["content_type"] == "application/json-patch+json":
                msg = "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                return self._reply(400, status(400, "BadRequest", msg))
            if name in cluster.race:
                cluster.race.discard(name)
                w.resource_version += 1  # someone else wrote in between
            body = req["body"] or {}
            want_rv = (body.get("metadata") or {}).get("resourceVersion")
            if want_rv is not None and str(want_rv) != str(w.resource_version):
                msg = "the object has been modified; please apply your changes to the latest"
                return self._reply(409, status(409, "Conflict", msg))
            w.resource_version += 1
            if render is scale_json:
                w.replicas = int(body["spec"]["replicas"])
            elif render is isvc_json:
                predictor = body["spec"]["predictor"]
                w.replicas = int(predictor.get("minReplicas", w.replicas))
                w.max_replicas = predictor.get("maxReplicas", w.max_replicas)
            else:  # the deployment itself: a changed pod template starts a rollout
                notes = body["spec"]["template"]["metadata"]["annotations"]
                if {**w.annotations, **notes} != w.annotations:
                    w.annotations.update(notes)
                    w.rollouts += 1
                return self._reply(200, deployment_json(ns, name, w))
            return self._reply(200, render(ns, name, w))

    return Handler


@pytest.fixture
def cluster() -> Iterator[tuple[FakeCluster, str]]:
    state = FakeCluster()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def target(url: str, kind: str = "deployment", **extra: Any) -> KubernetesTarget:
    conn = ConnectionFields(
        conn_id="modelwatch_kubernetes",
        conn_type="kubernetes",
        host=url,
        password=TOKEN,
        extra={"namespace": "serving", **extra},
    )
    return KubernetesTarget(conn, KubernetesTargetConfig(kind=kind, name_template="{model_id}-svc"))


def request(action: str = "scale_up", frm: int | None = 5, to: int | None = 13, model="fraud"):
    return {
        "request_id": f"{model}:20261101T09:{action}",
        "model_id": model,
        "hour": "2026-11-01T09:00:00",
        "action": action,
        "from_replicas": frm,
        "to_replicas": to,
        "reason": "capacity saturation",
        "evidence": {},
    }


# --------------------------------------------------------------------------------------- scaling
def test_scale_up_reads_the_scale_then_merge_patches_it(cluster) -> None:
    state, url = cluster
    state.deployments[("serving", "fraud-svc")] = Workload(replicas=5, resource_version=100)
    outcome = target(url).apply(request())
    assert (outcome.status, outcome.detail) == (
        DISPATCHED,
        "deployment serving/fraud-svc scaled 5 -> 13",
    )
    get, patch = state.requests
    path = "/apis/apps/v1/namespaces/serving/deployments/fraud-svc/scale"
    assert (get["method"], get["path"], get["authorization"]) == ("GET", path, f"Bearer {TOKEN}")
    assert (patch["method"], patch["path"]) == ("PATCH", path)
    assert patch["content_type"] == MERGE_PATCH == "application/merge-patch+json"
    assert patch["body"] == {"metadata": {"resourceVersion": "100"}, "spec": {"replicas": 13}}
    assert patch["query"] == {"fieldManager": ["modelwatch"]}
    assert state.deployments[("serving", "fraud-svc")].replicas == 13


def test_the_patch_type_is_named_not_left_to_the_client(cluster) -> None:
    """Left alone, this client sends an object body as a strategic merge patch (it rewrites its
    JSON Patch default); the target names JSON merge patch, as `kubectl scale` does, so the
    request means the same on any client version and on custom resources, which take no
    strategic merge."""
    from kubernetes import client

    state, url = cluster
    state.deployments[("serving", "fraud-svc")] = Workload(replicas=5)
    apps = client.AppsV1Api(target(url).api_client)
    apps.patch_namespaced_deployment_scale("fraud-svc", "serving", {"spec": {"replicas": 6}})
    assert state.requests[-1]["content_type"] == STRATEGIC_MERGE_PATCH
    target(url).apply(request(frm=6, to=7))
    assert state.requests[-1]["content_type"] == MERGE_PATCH


def test_a_request_sent_twice_scales_once(cluster) -> None:
    state, url = cluster
    state.deployments[("serving", "fraud-svc")] = Workload(replicas=5)
    t = target(url)
    assert t.apply(request()).status == DISPATCHED
    again = t.apply(request())
    assert (again.status, again.detail) == (
        APPLIED,
        "deployment serving/fraud-svc already has 13 replicas (asked 13)",
    )
    assert [r["method"] for r in state.requests] == ["GET", "PATCH", "GET"]


def test_scale_down_and_a_workload_already_smaller(cluster) -> None:
    state, url = cluster
    state.deployments[("serving", "fraud-svc")] = Workload(replicas=8)
    down = request("scale_down", 8, 7)
    assert target(url).apply(down).status == DISPATCHED
    assert state.requests[-1]["body"]["spec"] == {"replicas": 7}
    state.deployments[("serving", "fraud-svc")].replicas = 6  # someone scaled further down
    assert target(url).apply(down).status == APPLIED


def test_404_fails_for_good(cluster) -> None:
    state, url = cluster
    outcome = target(url).apply(request(model="ghost"))
    assert outcome.status == FAILED and outcome.permanent
    assert outcome.detail == "deployment serving/ghost-svc not found (HTTP 404)"
    assert [r["method"] for r in state.requests] == ["GET"]


def test_403_fails_for_good_and_names_the_permission(cluster) -> None:
    state, url = cluster
    state.deployments[("serving", "fraud-svc")] = Workload(replicas=5)
    state.forbidden.add("fraud-svc")
    outcome = target(url).apply(request())
    assert outcome.status == FAILED and outcome.permanent
    assert outcome.detail.startswith("deployment serving/fraud-svc: HTTP 403 Forbidden")
    assert "deployments/scale" in outcome.detail
    assert state.deployments[("serving", "fraud-svc")].replicas == 5


def test_409_conflict_is_retried_against_the_new_state(cluster) -> None:
    state, url = cluster
    state.deployments[("serving", "fraud-svc")] = Workload(replicas=5, resource_version=100)
    state.race.add("fraud-svc")
    t = target(url)
    outcome = t.apply(request())
    assert outcome.status == FAILED and not outcome.permanent
    assert "HTTP 409 conflict" in outcome.detail
    assert state.deployments[("serving", "fraud-svc")].replicas == 5  # nothing overwritten
    retry = t.apply(request())  # the next run
    assert retry.status == DISPATCHED
    assert state.requests[-1]["body"]["metadata"] == {"resourceVersion": "101"}
    assert state.deployments[("serving", "fraud-svc")].replicas == 13


def test_a_wrong_token_is_a_permanent_failure(cluster) -> None:
    state, url = cluster
    state.deployments[("serving", "fraud-svc")] = Workload(replicas=5)
    conn = ConnectionFields(conn_id="k", host=url, password="wrong")
    outcome = KubernetesTarget(conn, KubernetesTargetConfig()).apply(request(model="fraud-svc"))
    assert outcome.status == FAILED and outcome.permanent and "HTTP 401" in outcome.detail


def test_an_unreachable_api_server_is_retried() -> None:
    conn = ConnectionFields(conn_id="k", host="http://127.0.0.1:9", password=TOKEN)
    t = KubernetesTarget(conn, KubernetesTargetConfig(timeout_seconds=2))
    t.api_client.configuration.retries = 0
    outcome = t.apply(request())
    assert outcome.status == FAILED and not outcome.permanent
    assert "unreachable" in outcome.detail


# --------------------------------------------------------------------------------------- restart
def test_restart_patches_the_pod_template_once_per_request(cluster) -> None:
    state, url = cluster
    state.deployments[("serving", "leaky-svc")] = Workload(replicas=3)
    t = target(url)
    restart = request("restart", None, None, model="leaky")
    assert t.apply(restart).status == DISPATCHED
    assert t.apply(restart).status == DISPATCHED  # sent again: same stamp, no new rollout
    patch = state.requests[0]
    assert patch["method"] == "PATCH"
    assert patch["path"] == "/apis/apps/v1/namespaces/serving/deployments/leaky-svc"
    assert patch["content_type"] == STRATEGIC_MERGE_PATCH
    assert patch["body"] == {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        RESTARTED_AT: "2026-11-01T09:00:00Z",
                        "modelwatch.io/request-id": "leaky:20261101T09:restart",
                    }
                }
            }
        }
    }
    assert state.deployments[("serving", "leaky-svc")].rollouts == 1


def test_rollback_is_not_a_kubernetes_action() -> None:
    conn = ConnectionFields(conn_id="k", host="http://127.0.0.1:9", password=TOKEN)
    assert "rollback" not in KubernetesTarget(conn, KubernetesTargetConfig()).actions
    kserve = KubernetesTarget(conn, KubernetesTargetConfig(kind="inferenceservice"))
    assert kserve.actions == frozenset({"scale_up", "scale_down"})


# ---------------------------------------------------------------------------------------- KServe
def test_kserve_scale_up_raises_min_replicas_and_max_when_needed(cluster) -> None:
    state, url = cluster
    state.services[("serving", "fraud-svc")] = Workload(replicas=2, max_replicas=4)
    outcome = target(url, kind="inferenceservice").apply(request(frm=2, to=6))
    assert (outcome.status, outcome.detail) == (
        DISPATCHED,
        "inferenceservice serving/fraud-svc minReplicas 2 -> 6",
    )
    get, patch = state.requests
    path = "/apis/serving.kserve.io/v1beta1/namespaces/serving/inferenceservices/fraud-svc"
    assert (get["method"], get["path"], patch["method"], patch["path"]) == (
        "GET",
        path,
        "PATCH",
        path,
    )
    assert patch["content_type"] == MERGE_PATCH
    assert patch["body"] == {
        "metadata": {"resourceVersion": "100"},
        "spec": {"predictor": {"minReplicas": 6, "maxReplicas": 6}},
    }
    assert state.services[("serving", "fraud-svc")].max_replicas == 6
    assert target(url, kind="inferenceservice").apply(request(frm=2, to=6)).status == APPLIED


def test_kserve_404(cluster) -> None:
    _, url = cluster
    outcome = target(url, kind="inferenceservice").apply(request())
    assert outcome.status == FAILED and outcome.permanent
    assert outcome.detail == "inferenceservice serving/fraud-svc not found (HTTP 404)"


# ------------------------------------------------------------------------------------ connection
def test_the_connection_configures_the_client_without_touching_the_global_default() -> None:
    from kubernetes import client

    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    conn = ConnectionFields(
        conn_id="k",
        host="https://k8s.example.internal:6443",
        password=TOKEN,
        extra={"ca_cert": pem, "verify_ssl": "true"},
    )
    t = KubernetesTarget(conn, KubernetesTargetConfig(), api_client=None)
    cfg = t.api_client.configuration
    assert cfg.host == "https://k8s.example.internal:6443"
    assert cfg.ca_cert_data == pem and cfg.verify_ssl is True
    assert cfg.auth_settings()["BearerToken"]["value"] == f"Bearer {TOKEN}"
    assert client.Configuration.get_default_copy().host != cfg.host
    assert TOKEN not in repr(conn)  # the token never shows in logs
