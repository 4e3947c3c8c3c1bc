"""Where an hour's report lives on the web, its files' names, and the links alerts carry.

One place for these names, so the alert step, the report writer and the Model health view
always agree on a file name or a URL (the folders themselves: `folders.Folders`).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from urllib.parse import quote

from modelwatch.config import AlertsConfig
from modelwatch.folders import hour_key

#: The hour's HTML report, and the alert step's Markdown notes beside it.
REPORT_HTML = "report.html"
ALERT_NOTES = "alerts.md"
#: Where the Model health view (the Airflow plugin) serves each hour's report folder.
VIEW_REPORTS = "/modelwatch/reports"


#: The readable part of a plot's file name: letters, digits, `_` and `-` only, bounded.
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
PLOT_PREFIX_MAX = 60


def plot_name(alert_id: str) -> str:
    """The file name of an alert's plot in its hour's folder.

    Alert ids carry model ids, which are data: never a path component. The name is a readable
    prefix of safe characters (no separator, no dot, so never `..` or a hidden file) plus a
    hash of the whole id, so two ids never share a file. The UI finds plots through this too."""
    digest = hashlib.sha256(alert_id.encode()).hexdigest()[:16]
    prefix = _UNSAFE.sub("_", alert_id).strip("_-")[:PLOT_PREFIX_MAX] or "alert"
    return f"{prefix}-{digest}.png"


def view_report_url(airflow_url: str, hour: datetime) -> str:
    """The hour's report in the Model health view, for links in alerts."""
    return f"{airflow_url.rstrip('/')}{VIEW_REPORTS}/{hour_key(hour)}/{REPORT_HTML}"


#: Where the Model health view shows one alert end to end (its incident page).
VIEW_INCIDENTS = "/modelwatch/incidents"


def incident_href(alert_id: str, prefix: str = "") -> str:
    """An alert's incident page, relative to the view's index page (or under `prefix`).
    Alert ids carry model ids, which are data: always percent-encoded."""
    return f"{prefix}incidents/{quote(alert_id, safe='')}"


def view_incident_url(airflow_url: str, alert_id: str) -> str:
    """An alert's incident page in the Model health view, for the link every alert carries."""
    return f"{airflow_url.rstrip('/')}{VIEW_INCIDENTS}/{quote(alert_id, safe='')}"


def report_href(hour: datetime) -> str:
    """The hour's report, relative to the view's index page."""
    return f"reports/{hour_key(hour)}/{REPORT_HTML}"


def run_url(cfg: AlertsConfig, run_id: str) -> str:
    """The Airflow UI page of the run (Airflow 3: /dags/<dag>/runs/<run>)."""
    base = cfg.airflow_url.rstrip("/")
    return f"{base}/dags/{quote(cfg.dag_id, safe='')}/runs/{quote(run_id, safe='')}"
