"""What the view's forms share: the same-origin rule, the caller's credential, and answering
an approval through Airflow's own REST API (at Airflow's configured address, as the caller)."""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials

DAG_ID = "model_health"
APPROVE_TASK = "approve"
#: The Airflow API the approvals go to (default: Airflow's configured address).
API_URL_ENV = "MODELWATCH_AIRFLOW_API_URL"


def same_origin(request: Request, bearer: HTTPAuthorizationCredentials | None) -> bool:
    """A form post authenticated by the session cookie must say it comes from the Airflow UI
    itself: a browser sends `Origin` with every POST, so a missing one is refused too (a
    cross-site form could otherwise ride the cookie). A request carrying its own bearer token
    cannot be forged by another site and needs no Origin."""
    origin = request.headers.get("origin")
    if origin is None:
        return bearer is not None and bearer.scheme.lower() == "bearer"
    if origin == "null":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def api_root() -> str:
    """Airflow's own API, from configuration only (`MODELWATCH_AIRFLOW_API_URL`, else Airflow's
    `[api] base_url`, else its host and port): never from the request's Host header, which
    the caller controls, so the view never carries an operator's token to another server."""
    from airflow.configuration import conf

    configured = os.environ.get(API_URL_ENV) or conf.get("api", "base_url", fallback=None)
    if configured:
        return configured.rstrip("/")
    host = conf.get("api", "host", fallback="localhost")
    host = "localhost" if host in ("", "0.0.0.0", "::") else host
    return f"http://{host}:{conf.get('api', 'port', fallback='8080')}"


def credential(request: Request, bearer: HTTPAuthorizationCredentials | None) -> str | None:
    if bearer and bearer.scheme.lower() == "bearer":
        return bearer.credentials
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


def answer_approval(api_root: str, token: str, run_id: str, choice: str) -> tuple[bool, str]:
    """Answer the run's approval task through Airflow's REST API, as the caller."""
    import httpx

    url = (
        f"{api_root}/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}"
        f"/taskInstances/{APPROVE_TASK}/-1/hitlDetails"
    )
    try:
        r = httpx.patch(
            url,
            json={"chosen_options": [choice]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        return False, f"Airflow's API could not be reached: {exc}"
    if r.status_code == 200:
        verb = "Approved" if choice == "Approve" else "Rejected"
        return True, f"{verb}: the requests of run {run_id} (Airflow records the answer)."
    known = {
        403: "you are not allowed to answer this approval",
        404: f"no approval is waiting in run {run_id}",
        409: f"the approval of run {run_id} has already been answered",
    }
    return False, f"Not recorded: {known.get(r.status_code, r.text[:300])}."
