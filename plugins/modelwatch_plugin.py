"""Adds the "Model health" page to the Airflow UI (Airflow 3 plugin interface).

Thin on purpose: the app, its queries and its templates live in `modelwatch.ui`. The FastAPI
app is mounted by the API server under `/modelwatch`; the external view puts a link in the
navigation bar that shows that app inside the Airflow UI.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from modelwatch.ui.app import URL_PREFIX, VIEW_ROUTE, app


class ModelwatchPlugin(AirflowPlugin):
    name = "modelwatch"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": URL_PREFIX, "name": "Model health"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Model health",
            # relative (no leading slash), so it also works under a base path
            "href": URL_PREFIX.lstrip("/") + "/",
            "destination": "nav",
            "url_route": VIEW_ROUTE,
            "nav_top_level": True,
        }
    ]
