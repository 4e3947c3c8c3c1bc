"""The hour's summary: its figures in `mw_runs`, its HTML report, and the run's clean-up.

The last task of model_health. Figures are computed from the output tables, so a partial
rerun and a full run of the same hour agree.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pandas as pd

from modelwatch import schema
from modelwatch.config import Settings
from modelwatch.detection.cache import DetectorStore
from modelwatch.detection.score import STATUS_INSUFFICIENT, STATUS_SCORED
from modelwatch.ingest.connect import open_source
from modelwatch.pipeline.selfmetrics import push_run_metrics
from modelwatch.remediation import states as remediation
from modelwatch.remediation.policies import SCALE_UP
from modelwatch.run import Run
from modelwatch.storage import remove_tree
from modelwatch.ui import report
from modelwatch.warehouse import Warehouse, open_warehouse

log = logging.getLogger(__name__)


def hour_summary(wh: Warehouse, hour: datetime, settings: Settings) -> dict[str, Any]:
    """The hour's figures, computed from the output tables (so partial reruns agree)."""
    p = {"hour": hour, "fleet": schema.FLEET}
    v = wh.query(
        "SELECT status, COUNT(*) AS n FROM mw_validation WHERE hour = :hour AND model_id <> :fleet "
        "GROUP BY status",
        p,
    ).set_index("status")["n"]
    s = wh.query(
        "SELECT status, COUNT(*) AS n, SUM(CASE WHEN is_anomaly THEN 1 ELSE 0 END) AS anomalous "
        "FROM mw_scores WHERE hour = :hour GROUP BY status",
        {"hour": hour},
    ).set_index("status")
    a = wh.query(
        "SELECT SUM(CASE WHEN opened_hour = :hour THEN 1 ELSE 0 END) AS opened, "
        "SUM(CASE WHEN resolved_hour = :hour THEN 1 ELSE 0 END) AS resolved, "
        "SUM(CASE WHEN opened_hour <= :hour AND (resolved_hour IS NULL OR resolved_hour > :hour)"
        " THEN 1 ELSE 0 END) AS firing FROM mw_alerts",
        {"hour": hour},
    ).iloc[0]
    r = wh.query(
        "SELECT action, COUNT(*) AS n FROM mw_remediation_requests WHERE hour = :hour "
        "AND status IN :active GROUP BY action",
        {"hour": hour, "active": list(remediation.ACTIVE)},
    ).set_index("action")["n"]

    def n(x: Any) -> int:
        return 0 if pd.isna(x) else int(x)

    return {
        "hour": hour,
        "models_expected": n(v.sum()),
        "models_scored": n(s["n"].get(STATUS_SCORED, 0)),
        "models_quarantined": n(v.get("quarantined", 0)),
        "models_no_data": n(v.get("no_data", 0)),
        "models_insufficient_history": n(s["n"].get(STATUS_INSUFFICIENT, 0)),
        "models_anomalous": n(s["anomalous"].sum()),
        "alerts_opened": n(a["opened"]),
        "alerts_resolved": n(a["resolved"]),
        "alerts_firing": n(a["firing"]),
        "remediation_requests": n(r.sum()),
        "scaling_requests": n(r.get(SCALE_UP, 0)),
        "config_digest": settings.digest(),
    }


#: The enrichments whose failure the summary records: name -> the `mw_runs` column.
FAILURE_COLUMNS = {"logs": "logs_failure", "drift": "drift_failure", "hints": "hints_failure"}


def format_summary(row: dict[str, Any]) -> str:
    """The one compact line per hour that the demo and the task log print."""
    line = (
        f"{row['hour']:%Y-%m-%d %H:00}  scored {row['models_scored']:>4}  "
        f"quarantined {row['models_quarantined']:>2}  no-data {row['models_no_data']:>2}  "
        f"anomalous {row['models_anomalous']:>3}  alerts +{row['alerts_opened']}/"
        f"-{row['alerts_resolved']} (firing {row['alerts_firing']})  "
        f"scaling {row['scaling_requests']}"
    )
    failed = [name for name, col in FAILURE_COLUMNS.items() if _present(row.get(col))]
    return line + (f"  unavailable: {', '.join(failed)}" if failed else "")


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value))


def record_hour(run: Run, failures: dict[str, str] | None = None) -> dict[str, Any]:
    """Record the hour's summary row (with why each failed enrichment failed), write its HTML
    report, remove the run's staging files, prune the detector cache's old days."""
    failures = failures or {}
    with open_warehouse(run.warehouse) as wh:
        row = hour_summary(wh, run.hour, run.settings)
        row |= {col: failures.get(name) for name, col in FAILURE_COLUMNS.items()}
        frame = pd.DataFrame([row])
        frame["hour"] = frame["hour"].astype("datetime64[us]")
        wh.replace("mw_runs", frame, "hour = :hour", {"hour": run.hour})
        page = write_hour_report(wh, run)
    push_run_metrics(run, row)  # before the staging files go: they date the run's start
    remove_tree(run.staging.folder)
    DetectorStore(run.detectors, run.settings.detection).prune(keep_days=2, now=run.hour)
    line = format_summary(row)
    log.info("%s", line)
    return {
        **{k: v for k, v in row.items() if k != "hour"},
        "hour": run.hour.isoformat(),
        "line": line,
        "report": page,
    }


def write_hour_report(wh: Warehouse, run: Run) -> str | None:
    """The hour's HTML report for operators (`modelwatch.ui.report`); a failure to write it is
    logged and costs the report, never the run."""
    try:
        models = list(run.models) if run.models is not None else None
        folder = run.folders.report(run.hour)
        with open_source(run.source, run.settings, wh) as source:
            page = report.write_report_html(
                wh, source, run.settings, run.hour, folder, run.run_id, models
            )
        return str(page)
    except Exception:
        log.warning("could not write the report of %s", run.hour, exc_info=True)
        return None
