"""Judge the hints against the incidents' labelled causes (`modelwatch evaluate --hints`).

For each incident with a cause (`incident_causes`: model_id, kind, start, cause_kind,
cause_ref), its alert is the model's first alert opened from an hour before the incident began
to two hours after it ended, and its hints are those computed in the hour it opened (the ones
its first message carried). A hint names the cause when:

- `change`: its evidence's `change_id` is the cause's;
- `dependency`: it is a shared cause whose label value is the cause's;
- `log`: it is a log signature whose template contains the cause's text (case-insensitive).

top-1 is the share of incidents whose first hint names the cause, top-3 whose first three
do; an incident that raised no alert counts as missed. Hints of alerts outside every incident
are listed too: what on-call would have read on false alarms.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from modelwatch.warehouse import Warehouse


@dataclass
class HintScore:
    top1: float
    top3: float
    n: int
    per_incident: pd.DataFrame
    outside: pd.DataFrame


def names_cause(hint: dict, cause_kind: str, ref: str) -> bool:
    ev = json.loads(hint.get("evidence") or "{}")
    if cause_kind == "change":
        return str(ev.get("change_id")) == ref
    if cause_kind == "dependency":
        return hint["kind"] == "shared_cause" and str(ev.get("value")) == ref
    if cause_kind == "log":
        return (
            hint["kind"] == "log_signature" and ref.lower() in str(ev.get("template", "")).lower()
        )
    return False


def evaluate_hints(wh: Warehouse) -> HintScore:
    causes = (
        wh.query("SELECT * FROM incident_causes")
        if wh.table_exists("incident_causes")
        else (pd.DataFrame(columns=["model_id", "kind", "start", "cause_kind", "cause_ref"]))
    )
    incidents = wh.query('SELECT model_id, kind, "start", "end" FROM incidents')
    alerts = wh.query("SELECT alert_id, model_id, kind, opened_hour FROM mw_alerts")
    hints = (
        wh.query("SELECT * FROM mw_hints")
        if wh.table_exists("mw_hints")
        else pd.DataFrame(columns=["alert_id", "hour", "rank", "kind", "summary", "evidence"])
    )
    rows, used = [], set()
    for inc in incidents.itertuples(index=False):  # alerts inside any incident, labelled or not
        near = alerts[
            (alerts["model_id"] == inc.model_id)
            & (alerts["opened_hour"] >= inc.start - timedelta(hours=1))
            & (alerts["opened_hour"] <= inc.end + timedelta(hours=2))
        ]
        used.update(near["alert_id"])
    merged = causes.merge(incidents, on=["model_id", "kind", "start"], how="left")
    for c in merged.sort_values(["start", "model_id"]).itertuples(index=False):
        end = c.end if pd.notna(c.end) else c.start + timedelta(hours=1)
        a = alerts[
            (alerts["model_id"] == c.model_id)
            & (alerts["opened_hour"] >= c.start - timedelta(hours=1))
            & (alerts["opened_hour"] <= end + timedelta(hours=2))
        ].sort_values("opened_hour")
        top: list[dict] = []
        alert_id = None
        if len(a):
            alert_id = a.iloc[0]["alert_id"]
            used.update(a["alert_id"])
            h = hints[(hints["alert_id"] == alert_id) & (hints["hour"] == a.iloc[0]["opened_hour"])]
            top = h.sort_values("rank").to_dict("records")
        hit = [names_cause(h, c.cause_kind, str(c.cause_ref)) for h in top]
        rows.append(
            {
                "model_id": c.model_id,
                "kind": c.kind,
                "cause": f"{c.cause_kind}:{c.cause_ref}",
                "alert_id": alert_id,
                "top1": bool(hit[:1] and hit[0]),
                "top3": any(hit[:3]),
                "first_hint": top[0]["summary"] if top else "",
            }
        )
    per = pd.DataFrame(
        rows, columns=["model_id", "kind", "cause", "alert_id", "top1", "top3", "first_hint"]
    )
    first = hints[hints["rank"] == 1].merge(alerts, on="alert_id", suffixes=("", "_a"))
    outside = first[~first["alert_id"].isin(used) & (first["hour"] == first["opened_hour"])]
    n = len(per)
    return HintScore(
        float(per["top1"].mean()) if n else 0.0,
        float(per["top3"].mean()) if n else 0.0,
        n,
        per,
        outside[["alert_id", "summary"]].sort_values("alert_id").reset_index(drop=True),
    )


def format_score(s: HintScore) -> str:
    return f"hints: top1={s.top1:.2f} top3={s.top3:.2f} over {s.n} incidents"
