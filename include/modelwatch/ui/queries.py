"""What the Model health view and the run report show, read from the warehouse.

Every function takes an open `Warehouse` and plain values and returns plain Python data
(dataclasses, dicts, lists), so the view, the report and the tests share them. SQL is
parameterised and portable (DuckDB and PostgreSQL); nothing here writes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from modelwatch import schema
from modelwatch.run import HOUR
from modelwatch.warehouse import Warehouse

DAY = timedelta(days=1)
#: The heat map shows at most this many models (the worst first when there are more).
MAX_HEATMAP_MODELS = 200


def _dt(value: Any) -> datetime | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _num(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    out = float(value)
    return None if math.isnan(out) else out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with None for missing values and datetimes for timestamps."""
    out = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp):
                clean[k] = v.to_pydatetime()
            elif v is None or (not isinstance(v, (str, list, dict)) and pd.isna(v)):
                clean[k] = None
            else:
                clean[k] = v.item() if hasattr(v, "item") else v
        out.append(clean)
    return out


def explanation(detail: str | None, k: int = 5) -> list[dict[str, Any]]:
    """The top `k` metrics of a stored explanation (observed, baseline, robust z), or []."""
    try:
        items = json.loads(detail or "[]")
    except (TypeError, ValueError):
        return []
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and "metric" in i][:k]


# ------------------------------------------------------------------------------- time window
def latest_hour(wh: Warehouse) -> datetime | None:
    """The last hour with findings (the view opens on its day): the last scored hour, else
    the last summarised one. A run over an hour without data (a scheduler catching up on a
    fleet that stopped reporting) does not move the view away from the last findings."""
    for sql in ("SELECT MAX(hour) AS h FROM mw_scores", "SELECT MAX(hour) AS h FROM mw_runs"):
        got = _dt(wh.query(sql)["h"].iloc[0])
        if got is not None:
            return got
    return None


def day_of(hour: datetime) -> datetime:
    return hour.replace(hour=0, minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------------------------- heat map
@dataclass
class Cell:
    """One model's verdict for one hour."""

    status: str
    score: float | None
    is_anomaly: bool
    top_metrics: str

    @property
    def css(self) -> str:
        """A CSS class: the verdict, or a score bucket (0..9) for scored hours."""
        if self.status != "scored":
            return f"st-{self.status}"
        if self.is_anomaly:
            return "st-anomaly"
        bucket = min(9, max(0, int((self.score or 0.0) * 10)))
        return f"sc-{bucket}"

    @property
    def title(self) -> str:
        if self.status != "scored":
            return self.status.replace("_", " ")
        text = f"score {self.score:.3f}" if self.score is not None else "no score"
        if self.is_anomaly:
            text += " ANOMALY"
        if self.top_metrics:
            text += f" ({self.top_metrics})"
        return text


@dataclass
class HeatMap:
    """Models (rows) by hours (columns) over one day."""

    start: datetime
    hours: list[datetime]
    models: list[str]
    cells: dict[tuple[str, datetime], Cell] = field(default_factory=dict)
    hidden_models: int = 0
    processed_hours: set[datetime] = field(default_factory=set)

    def cell(self, model: str, hour: datetime) -> Cell | None:
        return self.cells.get((model, hour))


def heatmap(wh: Warehouse, start: datetime, hours: int = 24) -> HeatMap:
    """Every model's status and score per hour from `start`, from `mw_scores`."""
    end = start + timedelta(hours=hours)
    frame = wh.query(
        "SELECT model_id, hour, status, score, is_anomaly, top_metrics FROM mw_scores "
        "WHERE hour >= :start AND hour < :end AND model_id <> :fleet",
        {"start": start, "end": end, "fleet": schema.FLEET},
    )
    processed = wh.query(
        "SELECT hour FROM mw_runs WHERE hour >= :start AND hour < :end",
        {"start": start, "end": end},
    )
    grid = HeatMap(
        start=start,
        hours=[start + i * HOUR for i in range(hours)],
        models=[],
        processed_hours={_dt(h) for h in processed["hour"]},
    )
    if frame.empty:
        return grid
    models = sorted(frame["model_id"].unique().tolist())
    if len(models) > MAX_HEATMAP_MODELS:
        worst = (
            frame.assign(s=frame["score"].fillna(0.0) + frame["is_anomaly"].astype(float))
            .groupby("model_id")["s"]
            .max()
            .sort_values(ascending=False)
        )
        keep = set(worst.index[:MAX_HEATMAP_MODELS])
        grid.hidden_models = len(models) - len(keep)
        models = [m for m in models if m in keep]
        frame = frame[frame["model_id"].isin(keep)]
    grid.models = models
    for r in frame.itertuples(index=False):
        grid.cells[(r.model_id, _dt(r.hour))] = Cell(
            status=str(r.status),
            score=_num(r.score),
            is_anomaly=bool(r.is_anomaly),
            top_metrics=str(r.top_metrics or ""),
        )
    return grid


# ------------------------------------------------------------------------------------ alerts
def alerts_active(wh: Warehouse, hour: datetime) -> list[dict[str, Any]]:
    """Alert episodes open at `hour` or resolved in it, critical first, then the oldest."""
    frame = wh.query(
        "SELECT * FROM mw_alerts WHERE opened_hour <= :hour "
        "AND (resolved_hour IS NULL OR resolved_hour >= :hour)",
        {"hour": hour},
    )
    rows = _records(frame)
    for r in rows:
        r["metrics"] = explanation(r.get("explanation"))
        r["open"] = r["resolved_hour"] is None or r["resolved_hour"] > hour
        r["event"] = (
            "resolved" if not r["open"] else "opened" if r["opened_hour"] == hour else "firing"
        )
    rank = {"critical": 0, "warning": 1}
    rows.sort(key=lambda r: (not r["open"], rank.get(r["severity"], 2), r["opened_hour"]))
    tips = hints(wh, hour, [r["alert_id"] for r in rows])
    for r in rows:
        r["hints"] = tips.get(r["alert_id"], [])
    return rows


def hints(wh: Warehouse, hour: datetime, alert_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each alert's hints as computed for `hour` (else the latest hour before it), best first."""
    if not alert_ids or not wh.table_exists("mw_hints"):
        return {}
    frame = wh.query(
        "SELECT alert_id, hour, rank, kind, summary, score FROM mw_hints "
        "WHERE alert_id IN :ids AND hour <= :hour ORDER BY alert_id, hour DESC, rank",
        {"ids": alert_ids, "hour": hour},
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for alert_id, g in frame.groupby("alert_id", sort=False):
        latest = g[g["hour"] == g["hour"].max()]
        out[str(alert_id)] = _records(latest[["rank", "kind", "summary", "score"]])
    return out


# ---------------------------------------------------------------------------------- silences
def silences(wh: Warehouse, at: datetime, recent: timedelta = DAY) -> list[dict[str, Any]]:
    """Silences in force at `at`, those still to come, and those that ended within `recent`."""
    frame = wh.query(
        "SELECT * FROM mw_silences WHERE ends_at >= :since ORDER BY starts_at, silence_id",
        {"since": at - recent},
    )
    rows = _records(frame)
    for r in rows:
        try:
            r["matchers"] = json.loads(r["matchers"] or "{}")
        except ValueError:
            r["matchers"] = {"?": r["matchers"]}
        if r.get("expired_by") or r["ends_at"] <= at:
            r["state"] = "expired"
        elif r["starts_at"] > at:
            r["state"] = "pending"
        else:
            r["state"] = "active"
    return rows


# ------------------------------------------------------------------------------- remediation
def requests(
    wh: Warehouse, start: datetime, end: datetime, include_waiting: bool = True
) -> list[dict[str, Any]]:
    """Remediation requests of the hours [start, end), and every request still waiting for an
    operator, each with the run that asked (from the audit trail), newest first."""
    where = "hour >= :start AND hour < :end"
    if include_waiting:
        where += " OR status = 'awaiting_approval'"
    frame = wh.query(
        f"SELECT * FROM mw_remediation_requests WHERE {where}", {"start": start, "end": end}
    )
    rows = _records(frame)
    if not rows:
        return rows
    asked = wh.query(
        "SELECT request_id, run_id, seq FROM mw_remediation_events "
        "WHERE to_status = 'awaiting_approval' AND request_id IN :ids",
        {"ids": [r["request_id"] for r in rows]},
    )
    last = asked.sort_values("seq").groupby("request_id")["run_id"].last().to_dict()
    for r in rows:
        r["run_id"] = last.get(r["request_id"])
        r["waiting"] = r["status"] == "awaiting_approval"
    rows.sort(key=lambda r: (not r["waiting"], -r["hour"].timestamp(), r["request_id"]))
    return rows


# -------------------------------------------------------------------------------------- runs
def runs(wh: Warehouse, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The hourly summaries (`mw_runs`) of [start, end), newest first."""
    frame = wh.query(
        "SELECT * FROM mw_runs WHERE hour >= :start AND hour < :end ORDER BY hour DESC",
        {"start": start, "end": end},
    )
    return _records(frame)


# --------------------------------------------------------------------------------- one hour
def hour_scores(wh: Warehouse, hour: datetime) -> list[dict[str, Any]]:
    """Every model's verdict for the hour, anomalies first (highest score first)."""
    frame = wh.query(
        "SELECT model_id, status, score, threshold, is_anomaly, top_metrics, explanation "
        "FROM mw_scores WHERE hour = :hour AND model_id <> :fleet",
        {"hour": hour, "fleet": schema.FLEET},
    )
    rows = _records(frame)
    for r in rows:
        r["metrics"] = explanation(r.get("explanation")) if r["is_anomaly"] else []
    rows.sort(key=lambda r: (not r["is_anomaly"], -(r["score"] or 0.0), r["model_id"]))
    return rows


def hour_validation(wh: Warehouse, hour: datetime) -> list[dict[str, Any]]:
    """Models kept out of detection in the hour (quarantined or without data), and why."""
    frame = wh.query(
        "SELECT model_id, status, n_rows, completeness, failed_checks FROM mw_validation "
        "WHERE hour = :hour AND status <> 'passed' ORDER BY model_id",
        {"hour": hour},
    )
    return _records(frame)


def hour_notifications(wh: Warehouse, hour: datetime) -> list[dict[str, Any]]:
    """What was sent (or held back, and why) for the hour's alert events."""
    frame = wh.query(
        "SELECT alert_id, event, receiver, state, attempts, detail FROM mw_notifications "
        "WHERE hour = :hour ORDER BY alert_id, receiver",
        {"hour": hour},
    )
    return _records(frame)


def hour_run(wh: Warehouse, hour: datetime) -> dict[str, Any] | None:
    rows = runs(wh, hour, hour + HOUR)
    return rows[0] if rows else None
