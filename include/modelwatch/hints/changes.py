"""What changed just before the anomaly: declared changes, deploys we infer, our own actions.

Three sources, all optional: the `model_changes` table (a change names a model, or a selector
`label=value` / `*` that covers every model with that label, e.g. a node pool upgrade or a
feature pipeline that several models read), version changes in the metrics themselves
(`model_version` moved: a deploy nobody declared), and remediation requests our own pipeline
dispatched (a restart or a scale-down can be the cause too).

A change counts when it happened in the `change_window_hours` before the anomaly began, or in
its first hour (hourly metrics cannot tell minutes apart). Its score is kind x scope x
closeness: a deploy of the model itself just before beats a node-pool change hours earlier.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd

from modelwatch.hints.model import CHANGE, DEPLOY, SELF_ACTION, AlertRef, Hint, hhmm
from modelwatch.labels import LabelSets as Labels
from modelwatch.run import HOUR

#: How much a kind of change explains trouble on its own.
KIND_WEIGHT = {
    "deploy": 0.95,
    "config": 0.9,
    "feature_pipeline": 0.9,
    "infra": 0.85,
    "data": 0.85,
    "scaling": 0.5,
    SELF_ACTION: 0.6,
}
#: How directly a change touches the model: itself, a dependency, another label, everything.
SCOPE_WEIGHT = {"model": 1.0, "dependency": 0.85, "label": 0.7, "fleet": 0.4}
#: A version change we infer (nobody declared it) is a little less certain than a declared one.
INFERRED = 0.85
#: Closeness decays with this time constant (hours): a deploy or config change hits at once,
#: a feature pipeline or data change shows in predictions over hours (drift builds up).
TAU_HOURS = 3.0
SLOW_TAU_HOURS = {"feature_pipeline": 6.0, "data": 6.0}
ACTED = ("dispatched", "applied")


def scope(change: dict, model: str, labels: Labels) -> str | None:
    """How the change reaches the model, or None when it does not."""
    if change.get("model_id") is not None and str(change["model_id"]) == model:
        return "model"
    sel = change.get("selector")
    if sel is None or (isinstance(sel, float) and math.isnan(sel)):
        return None
    sel = str(sel).strip()
    if sel == "*":
        return "fleet"
    key, _, value = sel.partition("=")
    if value and value.strip() in labels.get(model, {}).get(key.strip(), ()):
        return "dependency" if key.strip() == "upstream" else "label"
    return None


def closeness(ts: datetime, began: datetime, kind: str = "") -> float:
    lead = max((began - ts) / HOUR, 0.0)
    return math.exp(-lead / SLOW_TAU_HOURS.get(kind, TAU_HOURS))


def change_hints(
    alert: AlertRef,
    declared: pd.DataFrame,
    inferred: pd.DataFrame,
    actions: pd.DataFrame,
    labels: Labels,
    window: timedelta,
) -> list[Hint]:
    """The changes that reached this alert's model in its window, scored."""
    lo, hi = alert.began - window, alert.began + HOUR
    model = alert.model_id
    out: list[Hint] = []
    declared_deploys: list[datetime] = []
    for c in declared.to_dict("records"):
        ts = pd.Timestamp(c["ts"]).to_pydatetime()
        how = scope(c, model, labels)
        if how is None or not lo <= ts < hi:
            continue
        kind = str(c.get("kind") or "config")
        score = KIND_WEIGHT.get(kind, 0.7) * SCOPE_WEIGHT[how] * closeness(ts, alert.began, kind)
        where = "" if how == "model" else f" (via {c.get('selector')})"
        if kind == "deploy" and how == "model":
            declared_deploys.append(ts)
        out.append(
            Hint(
                DEPLOY if kind == "deploy" else CHANGE,
                f"{kind} {c['change_id']} at {hhmm(ts)}{where}: {c.get('detail') or ''}"
                f" by {c.get('actor') or '?'}".strip(),
                score,
                {
                    "change_id": c["change_id"],
                    "ts": ts,
                    "kind": kind,
                    "scope": how,
                    "selector": c.get("selector"),
                    "detail": c.get("detail"),
                    "actor": c.get("actor"),
                },
            )
        )
    for d in inferred[inferred["model_id"] == model].to_dict("records"):
        ts = pd.Timestamp(d["ts"]).to_pydatetime()
        if not lo <= ts < hi or any(abs(ts - t) <= HOUR for t in declared_deploys):
            continue  # a declared deploy already says it
        out.append(
            Hint(
                DEPLOY,
                f"version {d['old']} -> {d['new']} at {hhmm(ts)} (seen in the metrics, "
                "not declared)",
                KIND_WEIGHT["deploy"] * INFERRED * closeness(ts, alert.began),
                {"inferred": True, "ts": ts, "old": d["old"], "new": d["new"], "scope": "model"},
            )
        )
    for a in actions[actions["model_id"] == model].to_dict("records"):
        ts = pd.Timestamp(a["hour"]).to_pydatetime() + HOUR  # sent after its hour
        if not lo <= ts < hi:
            continue
        out.append(
            Hint(
                SELF_ACTION,
                f"modelwatch itself requested {a['action']} at {hhmm(ts)} ({a['status']})",
                KIND_WEIGHT[SELF_ACTION] * closeness(ts, alert.began),
                {
                    "request_id": a["request_id"],
                    "action": a["action"],
                    "status": a["status"],
                    "ts": ts,
                },
            )
        )
    return out
