"""The Model health view's "accept as new normal" button (`POST baselines`).

Same rules as the approvals form: the caller is authenticated (the app's `require_reader`),
a cookie-authenticated post must come from the Airflow UI's own origin, and accepting needs
the right to edit the `model_health` DAG (it changes what the DAG will judge). The move is
stored with the caller's name and reason (`detection.tables.accept`, as the CLI does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

log = logging.getLogger(__name__)
_bearer = HTTPBearer(auto_error=False)


def may_edit(user: Any, dag_id: str) -> bool:
    """Whether Airflow's auth manager lets `user` edit the DAG."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    return bool(
        get_auth_manager().is_authorized_dag(method="PUT", user=user, details=DagDetails(id=dag_id))
    )


def accept_endpoint(
    same_origin: Callable[[Request, Any], bool],
    user_name: Callable[[Request], str],
    settings: Callable[[], Any],
    spec_for: Callable[[Any], Any],
    dag_id: str,
) -> Callable[..., RedirectResponse]:
    """The route, given the app's own origin, user and warehouse helpers (no import of app)."""

    def accept_baseline(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        model_id: Annotated[str, Form(min_length=1, max_length=250)],
        reason: Annotated[str, Form(max_length=500)] = "",
    ) -> RedirectResponse:
        """Accept the model's current level as its new normal, then back to the view."""
        from modelwatch.detection.tables import accept
        from modelwatch.warehouse import open_warehouse

        if not same_origin(request, bearer):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site form posts are refused")
        if not may_edit(getattr(request.state, "modelwatch_user", None), dag_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to edit DAG {dag_id}")
        who = user_name(request)
        now = datetime.now(UTC).replace(tzinfo=None)  # the audit's time; decides nothing
        try:
            with open_warehouse(spec_for(settings())) as wh:
                move = accept(wh, model_id, who, reason or "accepted in the Model health view", now)
            message, error = (
                f"{model_id}: baseline accepted by {who} from "
                f"{move.decided_hour:%Y-%m-%d %H:00} UTC on.",
                False,
            )
        except Exception as exc:  # a busy DuckDB file, an unknown model
            message, error = f"Not recorded: {exc}", True
        log.info("Model health view: %s", message)
        query = urlencode({"flash": message, **({"error": 1} if error else {})})
        return RedirectResponse(f"./?{query}", status_code=status.HTTP_303_SEE_OTHER)

    return accept_baseline
