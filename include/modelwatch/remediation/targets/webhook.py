"""A generic HTTP webhook: POST the request as JSON to the URL of an Airflow connection.

The receiver (a deploy system, a ChatOps bot, a runbook automation) does the work. Each POST
carries `Idempotency-Key: <request_id>`, so a request sent twice (at-least-once dispatch) is
done once; a 409 from the receiver means it already has that key.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from modelwatch.config import WebhookTargetConfig
from modelwatch.remediation.targets.base import DISPATCHED, FAILED, ConnectionFields, Outcome
from modelwatch.remediation.targets.log import ALL_ACTIONS


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
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return Outcome(DISPATCHED, f"HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            if exc.code == 409:
                return Outcome(DISPATCHED, "HTTP 409: the receiver already has this request")
            # 4xx: the request itself is wrong (auth, schema); retrying cannot help. 429/5xx can.
            permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
            return Outcome(FAILED, f"HTTP {exc.code} {exc.reason}", permanent=permanent)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome(FAILED, f"unreachable: {reason}")
