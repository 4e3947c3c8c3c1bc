"""The monitor's own figures, pushed to a Prometheus Pushgateway at the end of every run.

A run is a batch job: it is not up long enough to be scraped, so it pushes, as Prometheus
recommends for batch jobs, with the official `prometheus_client`. Only when the connection
`modelwatch_pushgateway` exists (an Airflow connection, or
`AIRFLOW_CONN_MODELWATCH_PUSHGATEWAY=http://host:9091` outside Airflow). Job `modelwatch`,
grouping key `kind` (scheduled, manual, backfill, whatif): each kind of run keeps its own
latest figures, and a backfill never hides that scheduled runs stopped. The push replaces
the group, so `modelwatch_last_success_timestamp_seconds` is the end of the latest run that got
this far; an alert on its age (deploy/prometheus/modelwatch-rules.yml) tells someone when the
monitor itself stops working. A failed push is one warning in the log, never a failed run.

The run's duration is measured from its first staged file (written by the extract step) to
the push, unless the caller knows when the run started.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modelwatch.alerting.redaction import redact
from modelwatch.connections import get_connection
from modelwatch.run import Run
from modelwatch.storage import files_below, modified
from modelwatch.warehouse import Warehouse, open_warehouse

log = logging.getLogger(__name__)

CONN_ID = "modelwatch_pushgateway"
JOB = "modelwatch"
KINDS = ("scheduled", "manual", "backfill", "whatif")
TIMEOUT_S = 5.0

#: name -> help text of every metric pushed.
METRICS = {
    "modelwatch_models_scored": "Models scored by the run's hour.",
    "modelwatch_models_quarantined": "Models quarantined by the validation gate in the run.",
    "modelwatch_models_no_data": "Models expected in the run's hour that sent no rows.",
    "modelwatch_models_anomalous": "Models judged anomalous in the run's hour.",
    "modelwatch_alerts_open": "Alerts firing at the run's hour.",
    "modelwatch_notifications_failed_total": "Failed notification attempts made by the run.",
    "modelwatch_run_duration_seconds": "Seconds from the run's first staged file to its end.",
    "modelwatch_run_hour_timestamp_seconds": "The hour the run processed (Unix time).",
    "modelwatch_last_success_timestamp_seconds": "When the run ended successfully (Unix time).",
}


@dataclass(frozen=True)
class Gateway:
    url: str
    login: str | None = None
    password: str | None = None


def gateway(conn_id: str = CONN_ID) -> Gateway | None:
    """The Pushgateway of the connection, or None when it is not defined."""
    conn = get_connection(conn_id, required=False)
    if conn is None or not conn.host:
        return None
    host = str(conn.host)
    if "://" not in host:
        kind = (conn.conn_type or "").lower()
        scheme = kind if kind in ("http", "https") else (conn.schema or "http")
        host = f"{scheme}://{host}"
    url = f"{host}:{conn.port}" if conn.port else host
    return Gateway(url.rstrip("/"), conn.login or None, conn.password or None)


def run_kind(run: Run) -> str:
    """The grouping key: the run's type; anything else Airflow may call a run is manual."""
    return run.mode.run_type if run.mode.run_type in KINDS else "manual"


def run_started(run: Run) -> float | None:
    """When the run's first staged file was written (Unix time), or None without any."""
    times = [modified(p) for p in files_below(run.staging.folder)]
    known = [t for t in times if t is not None]
    return min(known) if known else None


def failed_attempts(wh: Warehouse, run: Run, since: float | None) -> int:
    """Failed delivery attempts made by this run: since it started, or (start unknown) on the
    notifications of its hour."""
    if not wh.table_exists("mw_notification_attempts"):
        return 0
    if since is not None:
        at = datetime.fromtimestamp(since, UTC).replace(tzinfo=None)
        got = wh.query(
            "SELECT COUNT(*) AS n FROM mw_notification_attempts WHERE NOT ok "
            "AND attempted_at >= :at",
            {"at": at},
        )
    else:
        got = wh.query(
            "SELECT COUNT(*) AS n FROM mw_notification_attempts a JOIN mw_notifications n "
            "ON a.notification_id = n.notification_id WHERE NOT a.ok AND n.hour = :hour",
            {"hour": run.hour},
        )
    return int(got["n"].iloc[0] or 0)


def figures(
    row: dict[str, Any], failed: int, started: float | None, now: float, hour: datetime
) -> dict[str, float]:
    """The values pushed, from the hour's summary row (`hour_summary`) and the run's facts."""
    out = {
        "modelwatch_models_scored": row["models_scored"],
        "modelwatch_models_quarantined": row["models_quarantined"],
        "modelwatch_models_no_data": row["models_no_data"],
        "modelwatch_models_anomalous": row["models_anomalous"],
        "modelwatch_alerts_open": row["alerts_firing"],
        "modelwatch_notifications_failed_total": failed,
        "modelwatch_run_hour_timestamp_seconds": hour.replace(tzinfo=UTC).timestamp(),
        "modelwatch_last_success_timestamp_seconds": now,
    }
    if started is not None:
        out["modelwatch_run_duration_seconds"] = max(0.0, now - started)
    return {k: float(v) for k, v in out.items()}


def push(gw: Gateway, kind: str, values: dict[str, float], timeout_s: float = TIMEOUT_S) -> None:
    """Replace the group {job="modelwatch", kind=...} on the Pushgateway with `values`."""
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
    from prometheus_client.exposition import basic_auth_handler, default_handler

    registry = CollectorRegistry()
    for name, value in values.items():
        Gauge(name, METRICS[name], registry=registry).set(value)

    def handler(url: str, method: str, timeout: float | None, headers: list, data: bytes) -> Any:
        if gw.login:
            return basic_auth_handler(
                url, method, timeout, headers, data, gw.login, gw.password or ""
            )
        return default_handler(url, method, timeout, headers, data)

    push_to_gateway(
        gw.url,
        job=JOB,
        registry=registry,
        grouping_key={"kind": kind},
        timeout=timeout_s,
        handler=handler,
    )


def push_run_metrics(
    run: Run,
    row: dict[str, Any],
    started: float | None = None,
    now: float | None = None,
) -> bool:
    """Push the run's figures when a Pushgateway is configured; True if pushed. Never raises:
    a failed push is one warning, the run has succeeded all the same."""
    try:
        gw = gateway()
        if gw is None:
            return False
        started = started if started is not None else run_started(run)
        with open_warehouse(run.warehouse) as wh:
            failed = failed_attempts(wh, run, started)
        values = figures(row, failed, started, now if now is not None else time.time(), run.hour)
        push(gw, run_kind(run), values)
    except Exception as exc:
        why = " ".join(redact(f"{type(exc).__name__}: {exc}").split())[:300]
        log.warning("self-metrics not pushed to the Pushgateway: %s", why)
        return False
    log.info("self-metrics pushed to the Pushgateway (kind=%s)", run_kind(run))
    return True
