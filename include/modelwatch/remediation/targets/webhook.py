"""A generic HTTP webhook: POST the request as JSON to the URL of an Airflow connection.

The receiver (a deploy system, a ChatOps bot, a runbook automation) does the work. The
contract with it:

- each POST carries `Idempotency-Key: <request_id>`, so a request sent twice (at-least-once
  dispatch, a retry after a timeout) is done once;
- 2xx: accepted (`dispatched`);
- 409 with a JSON body `{"request_id": "<the same id>", "status": "applied"}`: the receiver
  already applied this very request (a retry of one it did) -> `applied`. Any other 409 is a
  conflict (another change in progress, a different request) -> `failed`, retried later;
- 3xx: never followed. The URL must be the endpoint itself; following a redirect would turn
  the POST into a GET elsewhere and hand the bearer token to another host. `failed`, permanent
  (a misconfigured connection is not fixed by retrying);
- 429, 408 and 5xx: `failed`, retried by later runs; other 4xx (auth, schema): permanent;
- unreachable (refused, timeout, DNS): `failed`, retried.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from modelwatch.config import WebhookTargetConfig
from modelwatch.remediation.targets.base import (
    APPLIED,
    DISPATCHED,
    FAILED,
    ConnectionFields,
    Outcome,
)
from modelwatch.remediation.targets.log import ALL_ACTIONS

#: How much of a 409's body is read to find the receiver's answer.
_MAX_BODY = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse every redirect: urllib then raises the 3xx as an HTTPError."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class WebhookTarget:
    name = "webhook"
    actions = ALL_ACTIONS

    def __init__(self, conn: ConnectionFields, cfg: WebhookTargetConfig) -> None:
        self.url = conn.url()
        self.token = conn.password
        self.timeout = cfg.timeout_seconds

    def apply(self, request: dict[str, Any]) -> Outcome:
        body = json.dumps(request, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": request["request_id"],
            "User-Agent": "modelwatch-remediation",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                return Outcome(DISPATCHED, f"HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            try:
                return _refused(exc, request["request_id"])
            finally:
                exc.close()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome(FAILED, f"unreachable: {reason}")


def _refused(exc: urllib.error.HTTPError, request_id: str) -> Outcome:
    """The outcome of a non-2xx answer (see the module's contract)."""
    code = exc.code
    if 300 <= code < 400:
        where = exc.headers.get("Location", "?") if exc.headers else "?"
        return Outcome(
            FAILED,
            f"HTTP {code} redirect to {where} not followed: the connection's URL must be the "
            "webhook endpoint itself",
            permanent=True,
        )
    if code == 409:
        if _already_applied(exc, request_id):
            return Outcome(APPLIED, "HTTP 409: the receiver already applied this request")
        return Outcome(FAILED, f"HTTP 409 {exc.reason}: conflict, not this request applied")
    if code == 429:
        after = exc.headers.get("Retry-After") if exc.headers else None
        wait = f" (Retry-After {after})" if after else ""
        return Outcome(FAILED, f"HTTP 429 {exc.reason}: retry later{wait}")
    # 4xx: the request itself is wrong (auth, schema); retrying cannot help. 408/5xx can.
    permanent = 400 <= code < 500 and code != 408
    return Outcome(FAILED, f"HTTP {code} {exc.reason}", permanent=permanent)


def _already_applied(exc: urllib.error.HTTPError, request_id: str) -> bool:
    """Whether a 409's body says this very request was applied."""
    try:
        answer = json.loads(exc.read(_MAX_BODY) or b"null")
    except (OSError, ValueError):
        return False
    return (
        isinstance(answer, dict)
        and answer.get("request_id") == request_id
        and answer.get("status") == APPLIED
    )
