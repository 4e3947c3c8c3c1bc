"""Adds the "Model health" page to the Airflow UI (Airflow 3 plugin interface).

Installed with the package: the `airflow.plugins` entry point in pyproject.toml names this
class, so every Airflow process of an environment with modelwatch installed loads it, and
`airflow plugins` lists it as `modelwatch` (no file to copy into a plugins folder). Thin on
purpose: the app, its queries and its templates live in `modelwatch.ui`. The API server
mounts the FastAPI app under `/modelwatch`; the external view puts a link in the navigation bar
that shows that app inside the Airflow UI. Every Airflow process loads plugins (task processes
too, for macros), but only the API server asks for `fastapi_apps`, so the app (and FastAPI) is
imported only there.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX, VIEW_ROUTE = "/modelwatch", "model-health"  # as in modelwatch.ui.app


class ModelwatchPlugin(AirflowPlugin):
    name = "modelwatch"
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

    @property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from modelwatch.ui.app import URL_PREFIX as prefix
        from modelwatch.ui.app import app

        return [{"app": app, "url_prefix": prefix, "name": "Model health"}]
