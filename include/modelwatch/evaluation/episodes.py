"""Judge a run's alert episodes as on-call lives with them, against the labelled incidents.

Row-based scores (`evaluation.incidents`) cannot tell a detector that flags one hour per
incident from a config that pages five times for it; on-call can. Here a run (production's
tables, or a what-if shadow's) is judged by its pages, episodes and requests:

- a *page* is a firing or repeated event of an episode that reached (or, in a run that does not
  notify, would have reached) at least one receiver: ledger rows held back by a silence,
  inhibition or maintenance window are not pages; one event sent to three receivers is one;
- an incident is *paged* when a page of its model (or of the fleet) falls in its window
  [start, end + grace); its *delay* runs from its start to the end of the first page's hour
  (the hour's run cannot page before the hour is over);
- a *false page* falls in no incident window of its model (fleet pages: of any model);
- *hours firing outside incidents* are hours an episode was open outside its model's windows;
- *actions* are the requests the run took or would have taken (proposed, approved, sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from modelwatch.run import HOUR
from modelwatch.warehouse import Warehouse

FLEET_ID = "__fleet__"
PAGE_EVENTS = ("firing", "repeated")
#: Ledger states of notifications that left, or were on their way.
SENT_STATES = ("sent", "failed", "sending")
#: How the alert step records a notification it did not send only because the run does not
#: notify (backfills, manual runs, what-if shadows): those would have been pages.
NOT_NOTIFYING = ("notify is off for this run", "backfill: recorded, would have notified")
#: Requests that count as an action taken (or that would have been).
TAKEN = ("proposed", "awaiting_approval", "approved", "dispatched", "applied")
DEFAULT_GRACE = timedelta(hours=3)


@dataclass
class RunRecord:
    """What one run (production or a shadow) decided over its hours."""

    label: str
    start: datetime
    end: datetime
    incidents: pd.DataFrame
    alerts: pd.DataFrame
    notifications: pd.DataFrame
    requests: pd.DataFrame
    scores: pd.DataFrame
    models: int


def hours_span(wh: Warehouse) -> tuple[datetime, datetime] | None:
    """The hours [first, last + 1 h) this run has processed."""
    got = wh.query("SELECT MIN(hour) AS a, MAX(hour) AS b FROM mw_validation")
    if got.empty or pd.isna(got["a"].iloc[0]):
        return None
    return pd.Timestamp(got["a"].iloc[0]).to_pydatetime(), pd.Timestamp(
        got["b"].iloc[0]
    ).to_pydatetime() + HOUR


def load_run(
    wh: Warehouse, label: str, window: tuple[datetime, datetime] | None = None
) -> RunRecord:
    """The run's decisions, and the incidents of the hours it processed or of `window` (the
    `incidents` table is an input: a shadow reads production's)."""
    span = window or hours_span(wh)
    if span is None:
        raise ValueError(f"{label} has processed no hour yet")
    start, end = span
    p = {"start": start, "end": end}
    if not wh.table_exists("incidents"):
        raise ValueError("the warehouse has no `incidents` table of labelled incidents")
    incidents = wh.query(
        'SELECT model_id, kind, "start", "end" FROM incidents '
        'WHERE "start" < :end AND "end" > :start ORDER BY "start", model_id',
        p,
    )
    for c in ("start", "end"):
        incidents[c] = pd.to_datetime(incidents[c])
    alerts = wh.query("SELECT * FROM mw_alerts WHERE opened_hour < :end", p)
    notes = wh.query("SELECT * FROM mw_notifications WHERE hour >= :start AND hour < :end", p)
    reqs = wh.query("SELECT * FROM mw_remediation_requests WHERE hour >= :start AND hour < :end", p)
    scores = wh.query(
        "SELECT hour, model_id, score, is_anomaly, threshold FROM mw_scores "
        "WHERE hour >= :start AND hour < :end",
        p,
    )
    models = wh.query(
        "SELECT COUNT(DISTINCT model_id) AS n FROM mw_validation WHERE model_id <> :f",
        {"f": FLEET_ID},
    )["n"].iloc[0]
    return RunRecord(label, start, end, incidents, alerts, notes, reqs, scores, int(models))


def pages(notes: pd.DataFrame) -> pd.DataFrame:
    """One row per page: (alert_id, model_id, event, hour), sent or would-have-been."""
    cols = ["alert_id", "model_id", "event", "hour"]
    if notes.empty:
        return pd.DataFrame(columns=cols)
    would = notes["state"].isin(SENT_STATES) | (
        (notes["state"] == "suppressed") & notes["detail"].isin(NOT_NOTIFYING)
    )
    got = notes[would & notes["event"].isin(PAGE_EVENTS)][cols].drop_duplicates()
    got = got.assign(hour=pd.to_datetime(got["hour"]))
    return got.sort_values(["hour", "alert_id"]).reset_index(drop=True)


def _windows(incidents: pd.DataFrame, grace: timedelta) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for r in incidents.itertuples(index=False):
        out.setdefault(r.model_id, []).append((r.start, r.end + grace))
    return out


def _inside(windows: list[tuple], hour: pd.Timestamp) -> bool:
    return any(a <= hour + HOUR and hour < b for a, b in windows)


@dataclass
class Judgement:
    """A run's figures, and one row per incident."""

    label: str
    per_incident: pd.DataFrame
    summary: dict[str, float | int | None] = field(default_factory=dict)
    actions: pd.DataFrame = field(default_factory=pd.DataFrame)


def judge(run: RunRecord, grace: timedelta = DEFAULT_GRACE) -> Judgement:
    """The figures of the module docstring for one run."""
    got = pages(run.notifications)
    windows = _windows(run.incidents, grace)
    every = [w for ws in windows.values() for w in ws]
    rows = []
    for inc in run.incidents.itertuples(index=False):
        lo, hi = inc.start, inc.end + grace
        mine = got[
            got["model_id"].isin([inc.model_id, FLEET_ID])
            & (got["hour"] + HOUR > lo)
            & (got["hour"] < hi)
        ]
        first = mine["hour"].min() if len(mine) else None
        rows.append(
            {
                "model_id": inc.model_id,
                "kind": inc.kind,
                "start": inc.start,
                "end": inc.end,
                "paged": bool(len(mine)),
                "first_page": first,
                "delay_h": ((first + HOUR - inc.start) / HOUR) if first is not None else None,
                "pages": len(mine),
                "alerts": ",".join(sorted(set(mine["alert_id"]))),
            }
        )
    per = pd.DataFrame(
        rows,
        columns=[
            "model_id", "kind", "start", "end", "paged", "first_page", "delay_h", "pages",
            "alerts",
        ],
    )  # fmt: skip
    false = [
        r
        for r in got.itertuples(index=False)
        if not _inside(every if r.model_id == FLEET_ID else windows.get(r.model_id, []), r.hour)
    ]
    outside = 0
    for a in run.alerts.itertuples(index=False):
        h = pd.Timestamp(a.opened_hour)
        stop = pd.Timestamp(a.resolved_hour) if pd.notna(a.resolved_hour) else run.end
        ws = every if a.model_id == FLEET_ID else windows.get(a.model_id, [])
        while h < min(stop, pd.Timestamp(run.end)):
            outside += 0 if _inside(ws, h) else 1
            h += HOUR
    reqs = run.requests
    taken = reqs[reqs["status"].isin(TAKEN)] if len(reqs) else reqs
    model_days = max(1, run.models) * max(1.0, (run.end - run.start) / timedelta(days=1))
    delays = per["delay_h"].dropna().astype(float)
    summary: dict[str, float | int | None] = {
        "incidents": len(per),
        "incidents_paged": int(per["paged"].sum()) if len(per) else 0,
        "delay_median_h": float(delays.median()) if len(delays) else None,
        "delay_p90_h": float(delays.quantile(0.9)) if len(delays) else None,
        "pages_per_incident": float(per["pages"].mean()) if len(per) else None,
        "pages": len(got),
        "false_pages": len(false),
        "false_pages_per_model_day": round(len(false) / model_days, 4),
        "hours_firing_outside_incidents": outside,
        "actions": len(taken),
    }
    actions = (
        taken.groupby("action").size().rename("requests").reset_index()
        if len(taken)
        else pd.DataFrame(columns=["action", "requests"])
    )
    return Judgement(run.label, per, summary, actions)


def compare(a: Judgement, b: Judgement) -> pd.DataFrame:
    """The incidents whose outcome differs between two runs: paged or not, delay, pages."""
    keys = ["model_id", "kind", "start"]
    cols = [*keys, "paged", "delay_h", "pages"]
    both = a.per_incident[cols].merge(
        b.per_incident[cols], on=keys, how="outer", suffixes=(f" ({a.label})", f" ({b.label})")
    )
    la, lb = f" ({a.label})", f" ({b.label})"
    differs = (
        (both[f"paged{la}"] != both[f"paged{lb}"])
        | (both[f"pages{la}"] != both[f"pages{lb}"])
        | ~(
            (both[f"delay_h{la}"] == both[f"delay_h{lb}"])
            | (both[f"delay_h{la}"].isna() & both[f"delay_h{lb}"].isna())
        )
    )

    def outcome(r: pd.Series) -> str:
        pa, pb = bool(r[f"paged{la}"]), bool(r[f"paged{lb}"])
        if pa and not pb:
            return f"not paged by {b.label}"
        if pb and not pa:
            return f"paged only by {b.label}"
        if pa and r[f"delay_h{lb}"] > r[f"delay_h{la}"]:
            return f"paged {r[f'delay_h{lb}'] - r[f'delay_h{la}']:g} h later by {b.label}"
        if pa and r[f"delay_h{lb}"] < r[f"delay_h{la}"]:
            return f"paged {r[f'delay_h{la}'] - r[f'delay_h{lb}']:g} h earlier by {b.label}"
        return "pages differ"

    out = both[differs].reset_index(drop=True)
    out["outcome"] = [outcome(r) for _, r in out.iterrows()]
    return out
