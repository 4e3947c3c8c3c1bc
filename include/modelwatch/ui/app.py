"""The Model health view: a FastAPI app that the Airflow plugin mounts under `/modelwatch`.

Airflow mounts a plugin's FastAPI app with `app.mount()`, and a mount inherits none of the core
API's authentication, so this app authenticates every route itself, once, at the application
level: the caller must be a user Airflow's auth manager recognises (the UI's session cookie or a
bearer token, checked by Airflow's own `get_user`) and allowed to read the `model_health` DAG.
Approving a remediation request is forwarded, with the caller's own credential, to Airflow's
REST API (the run's `approve` task, the same Required Action the Airflow UI answers), so Airflow
decides whether this user may answer and records who did.

The warehouse is reached as the DAG reaches it (the `modelwatch_warehouse` connection), opened
read-only for one request at a time: an embedded DuckDB file is never held between requests,
and a file locked by a running task makes the page say so instead of waiting long.
"""

from __future__ import annotations

import logging
import os
import pathlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Path, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from modelwatch.folders import hour_key
from modelwatch.links import report_href
from modelwatch.storage import StorePath
from modelwatch.ui.baselines import accept_endpoint
from modelwatch.ui.forms import DAG_ID, answer_approval, api_root, credential, same_origin
from modelwatch.ui.render import render

log = logging.getLogger(__name__)

#: Where the plugin mounts this app, and the Airflow UI page that shows it.
URL_PREFIX = "/modelwatch"
VIEW_ROUTE = "model-health"
#: How long a request waits for a DuckDB file that a running task holds.
LOCK_TIMEOUT_ENV = "MODELWATCH_VIEW_LOCK_TIMEOUT_S"

_bearer = HTTPBearer(auto_error=False)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# ----------------------------------------------------------------------------------- auth
async def current_user(request: Request, bearer: Bearer) -> Any:
    """The caller as Airflow's auth manager knows them (401/403 otherwise).

    Airflow's own `get_user`: a bearer token if one is sent, else the UI's session cookie.
    Imported here, not at module level, so that loading the plugin in a scheduler or task
    process does not pull in the API server."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, bearer)


async def require_reader(request: Request, user: Annotated[Any, Depends(current_user)]) -> Any:
    """Only users who may read the `model_health` DAG see its findings."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    if not get_auth_manager().is_authorized_dag(
        method="GET", user=user, details=DagDetails(id=DAG_ID)
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"not allowed to read DAG {DAG_ID}")
    request.state.modelwatch_user = user
    return user


app = FastAPI(
    title="modelwatch: Model health",
    description="The fleet's health, alerts, silences and remediation requests.",
    dependencies=[Depends(require_reader)],  # every route, including ones added later
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)


def _user_name(request: Request) -> str:
    user = getattr(request.state, "modelwatch_user", None)
    try:
        return str(user.get_name())
    except Exception:
        return "unknown"


# ------------------------------------------------------------------------------ warehouse
def _settings() -> Any:
    from modelwatch.config import load_settings

    return load_settings()


def warehouse_spec(settings: Any) -> Any:
    """The DAG's connection, read through Airflow as the tasks read it."""
    from modelwatch.warehouse import warehouse_spec as spec_for

    return spec_for(settings.warehouse_conn_id)


@contextmanager
def read_only(spec: Any, lock_timeout_s: float | None = None) -> Iterator[Any]:
    """Open the warehouse for reading only, for the length of one request."""
    from modelwatch.warehouse import open_warehouse
    from modelwatch.warehouse.connect import DUCKDB_TYPES

    if lock_timeout_s is None:
        lock_timeout_s = float(os.environ.get(LOCK_TIMEOUT_ENV, "10"))
    if spec.conn_type in DUCKDB_TYPES:
        from modelwatch.warehouse import WarehouseError
        from modelwatch.warehouse.duckdb_backend import DuckDBWarehouse

        if not pathlib.Path(spec.duckdb_path).exists():
            raise WarehouseError(f"the warehouse file {spec.duckdb_path} does not exist yet")
        wh = DuckDBWarehouse(spec.duckdb_path, read_only=True, lock_timeout_s=lock_timeout_s)
        if spec.write_schema:  # a what-if shadow, asked for by name
            wh.enter_schema(spec.write_schema)
    else:
        wh = open_warehouse(spec)
        try:
            wh.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except Exception:
            wh.close()
            raise
    try:
        yield wh
    finally:
        wh.close()


def _unavailable(exc: Exception, busy: bool = True) -> HTMLResponse:
    log.warning("Model health view: warehouse unavailable: %s", exc)
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    message = (
        "The warehouse cannot be read right now (a model_health task may be writing it): "
        f"{first}. Reload in a moment."
        if busy
        else f"The warehouse connection cannot be used: {first}."
    )
    return HTMLResponse(render("error.html", message=message), status.HTTP_503_SERVICE_UNAVAILABLE)


# ------------------------------------------------------------------------------- overview
#: The days a page can show: its day, the day before and the day after must be dates.
FIRST_DAY = datetime.min + timedelta(days=1)
LAST_DAY = datetime.max.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def _parse_day(day: str | None) -> datetime | None:
    """The `day` asked for; a 400 that says why when it is no date or has no neighbours
    (9999-12-31 has no next day: the page's links and its window would overflow)."""
    if not day:
        return None
    try:
        parsed = datetime.strptime(day, "%Y-%m-%d")
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "day must be YYYY-MM-DD") from exc
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"day must be from {FIRST_DAY.date()} to {LAST_DAY.date()}",
        )
    return parsed


def find_plots(
    reports: StorePath, alert_rows: list[dict[str, Any]], at: datetime, back_hours: int = 48
) -> dict[str, str]:
    """Each alert's latest plot in the reports (its hour's report folder), as a relative
    URL."""
    from modelwatch.links import plot_name

    out: dict[str, str] = {}
    for a in alert_rows:
        name = plot_name(a["alert_id"])
        h = min(at, a["resolved_hour"] or at)
        for _ in range(back_hours):
            if h < a["opened_hour"]:
                break
            if (reports / hour_key(h) / name).is_file():
                out[a["alert_id"]] = f"reports/{hour_key(h)}/{name}"
                break
            h -= timedelta(hours=1)
    return out


def overview(wh: Any, day: datetime | None) -> dict[str, Any]:
    """What the index page shows for `day` (default: the day of the last hour with findings),
    as of the last hour processed that day."""
    from modelwatch.ui import queries

    latest = queries.latest_hour(wh)
    if latest is None:
        return {"at": None}
    start = day or queries.day_of(latest)
    end = start + queries.DAY
    runs = queries.runs(wh, start, end)
    at = runs[0]["hour"] if runs else min(latest, end - timedelta(hours=1))
    return {
        "at": at,
        "day": start.date().isoformat(),  # strftime's %Y drops a small year's zeros
        "prev_day": (start - queries.DAY).date().isoformat(),
        "next_day": end.date().isoformat(),
        "heat": queries.heatmap(wh, start),
        "alerts": [a for a in queries.alerts_active(wh, at) if a["open"]],
        "requests": queries.requests(wh, start, end),
        "silences": queries.silences(wh, at),
        "runs": runs,
    }


@app.get("/", response_class=HTMLResponse, name="index")
def index(
    request: Request, day: str | None = None, flash: str | None = None, error: int = 0
) -> HTMLResponse:
    """The fleet heat map, open alerts, remediation requests, silences and runs."""
    from modelwatch.folders import Folders
    from modelwatch.warehouse import WarehouseError

    settings = _settings()
    chosen = _parse_day(day)
    try:
        spec = warehouse_spec(settings)
        with read_only(spec) as wh:
            data = overview(wh, chosen)
    except WarehouseError as exc:
        return _unavailable(exc)
    except Exception as exc:  # e.g. the connection is not defined in this Airflow
        log.exception("Model health view: cannot reach the warehouse")
        return _unavailable(RuntimeError(f"{type(exc).__name__}: {exc}"), busy=False)
    reports = Folders.from_env(settings).reports
    plots = find_plots(reports, data["alerts"], data["at"]) if data.get("at") else {}
    html = render(
        "index.html",
        **data,
        plots=plots,
        user=_user_name(request),
        warehouse=spec.describe(),
        flash=flash,
        flash_error=bool(error),
        report_href=report_href,
        approve_url="approvals",
    )
    return HTMLResponse(html)


@app.get("/api/overview")
def overview_json(day: str | None = None) -> dict[str, Any]:
    """The index page's data as JSON (for scripts and the tests)."""
    from modelwatch.warehouse import WarehouseError

    try:
        with read_only(warehouse_spec(_settings())) as wh:
            data = overview(wh, _parse_day(day))
    except WarehouseError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    heat = data.pop("heat", None)
    if heat is not None:
        data["heatmap"] = {
            "hours": heat.hours,
            "models": heat.models,
            "cells": [
                {
                    "model_id": m,
                    "hour": h,
                    "status": c.status,
                    "score": c.score,
                    "is_anomaly": c.is_anomaly,
                }
                for (m, h), c in sorted(heat.cells.items())
            ],
        }
    return data


# ------------------------------------------------------------------------------ incidents
@app.get("/incidents/{alert_id:path}", response_class=HTMLResponse, name="incident")
def incident_page(request: Request, alert_id: str, shadow: str | None = None) -> HTMLResponse:
    """One alert end to end (`ui/incident.py`); a what-if shadow's only when asked for."""
    from modelwatch.ingest.connect import open_source
    from modelwatch.ui.incident import incident
    from modelwatch.warehouse import WarehouseError
    from modelwatch.warehouse.connect import shadow_schema
    from modelwatch.warehouse.source_spec import SourceConnectionError, source_spec

    settings = _settings()
    try:
        spec = warehouse_spec(settings)
        source = source_spec(settings, spec)
        spec = spec.in_schema(shadow_schema(shadow)) if shadow else spec
        with read_only(spec) as wh, open_source(source, settings, wh) as metrics:
            data = incident(wh, metrics, settings, alert_id)
    except (WarehouseError, SourceConnectionError) as exc:
        return _unavailable(exc)
    if data is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id!r}")
    back = "../" * (alert_id.count("/") + 1)
    return HTMLResponse(render("incident.html", **data, shadow=shadow, back=back))


# -------------------------------------------------------------------------------- reports
_HOUR_DIR = r"^\d{8}T\d{2}$"
_FILE = r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.(html|png|md)$"


@app.get("/reports/{hour}/{name}", name="report_file")
def report_file(
    hour: Annotated[str, Path(pattern=_HOUR_DIR)],
    name: Annotated[str, Path(pattern=_FILE)],
) -> Response:
    """A file of an hour's report folder: the report, its plots, the alert step's notes."""
    from modelwatch.folders import Folders
    from modelwatch.storage import is_local

    base = Folders.from_env(_settings()).reports
    media = {".html": "text/html", ".png": "image/png", ".md": "text/markdown"}
    if not is_local(base):  # on a store: `hour` and `name` match the patterns, no `..`
        found = base / hour / name
        if not found.is_file():
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such report file")
        return Response(found.read_bytes(), media_type=media[found.suffix])
    path = (base / hour / name).resolve()
    if base not in path.parents or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such report file")
    return FileResponse(path, media_type=media[path.suffix])


# ------------------------------------------------------------------------------ approvals
@app.post("/approvals", name="approvals")
def approvals(
    request: Request,
    bearer: Bearer,
    run_id: Annotated[str, Form(min_length=1, max_length=250)],
    choice: Annotated[str, Form(pattern="^(Approve|Reject)$")],
) -> RedirectResponse:
    """Approve or reject the remediation requests a run is waiting on, then back to the view."""
    if not same_origin(request, bearer):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site form posts are refused")
    token = credential(request, bearer)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated")
    ok, message = answer_approval(api_root(), token, run_id, choice)
    log.info(
        "Model health view: %s answered %s for run %s: %s",
        _user_name(request),
        choice,
        run_id,
        message,
    )
    query = urlencode({"flash": message, **({} if ok else {"error": 1})})
    return RedirectResponse(f"./?{query}", status_code=status.HTTP_303_SEE_OTHER)


app.post("/baselines", name="baselines")(  # "accept as new normal" (ui/baselines.py)
    accept_endpoint(
        same_origin, _user_name, lambda: _settings(), lambda s: warehouse_spec(s), DAG_ID
    )
)
