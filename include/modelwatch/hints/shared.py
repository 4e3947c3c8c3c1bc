"""Shared causes: other models in trouble in the same hours behind the same label.

"3 models behind feature-store-eu are anomalous since 09:00": when at least
`shared_min_models` models that share a label value (an upstream dependency, a node pool, a
cluster, a team) are in trouble in the alert's hours, the value is a suspect. Score = the
label's weight (a dependency says more than a team) x how surprising that many are by chance
(1 - P(X >= n), X binomial over the value's models with the fleet's share in trouble: three
sick models in a cluster of twelve mean little when a fifth of the fleet is sick) x
(1 - 0.5^(n-1)): more models, and fewer expected by chance, more likely.

When the models' new or surging log signatures name the value (timeouts to that dependency),
the signatures are evidence of the shared cause, folded into it rather than listed apart: the
shared cause then ranks just above the best of them.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from modelwatch.config import HintsConfig
from modelwatch.hints.model import LOG_SIGNATURE, SHARED_CAUSE, AlertRef, Hint, hhmm
from modelwatch.labels import LabelSets as Labels
from modelwatch.labels import members
from modelwatch.run import HOUR


def _score(weight: float, n: int, size: int, p_fleet: float) -> float:
    from scipy.stats import binom  # imported here: scipy.stats costs every Airflow task ~1 s

    chance = float(binom.sf(n - 1, size, min(max(p_fleet, 1e-6), 1.0)))
    return weight * (1.0 - chance) * (1.0 - 0.5 ** (n - 1))


def shared_hints(
    alert: AlertRef,
    hour: datetime,
    trouble: pd.DataFrame,
    labels: Labels,
    cfg: HintsConfig,
    log_hints: list[Hint],
    fresh: dict[str, set[str]] | None = None,
) -> tuple[list[Hint], list[Hint]]:
    """(shared-cause hints, the log hints left after folding the corroborating ones)."""
    t = trouble[(trouble["hour"] >= alert.began - HOUR) & (trouble["hour"] <= hour)]
    since = t.groupby("model_id")["hour"].min().to_dict()
    sick = set(since)
    if alert.fleet_models:
        sick |= set(alert.fleet_models)
        own = {
            (k, v) for m in alert.fleet_models for k, vs in labels.get(m, {}).items() for v in vs
        }
    else:
        sick.add(alert.model_id)
        own = {(k, v) for k, vs in labels.get(alert.model_id, {}).items() for v in vs}
    fresh = fresh or {}

    def mentions(m: str, value: str) -> bool:
        return any(value.lower() in t for t in fresh.get(m, ()))

    explained = {
        m: {v for v in labels.get(m, {}).get("upstream", ()) if mentions(m, v)} for m in sick
    }
    out: list[Hint] = []
    folded: set[int] = set()
    for key, value in sorted(own):
        weight = cfg.shared_labels.get(key)
        if weight is None:
            continue
        behind = members(labels, key, value)
        hit = sorted(
            m
            for m in behind & sick
            if m == alert.model_id or not explained.get(m) or value in explained[m]
        )
        if len(hit) < cfg.shared_min_models:
            continue
        score = _score(weight, len(hit), len(behind), len(sick) / max(len(labels), 1))
        named = {m for m in hit if mentions(m, value)}
        if named and not alert.fleet_models and alert.model_id not in named:
            score *= 0.5  # the others' fingerprint of this cause is missing here
        corroborating = [
            i
            for i, h in enumerate(log_hints)
            if h.kind == LOG_SIGNATURE
            and value.lower() in str(h.evidence.get("template", "")).lower()
        ]
        if corroborating:
            score = max(score, max(log_hints[i].score for i in corroborating) + 0.05)
            folded.update(corroborating)
        first = min((since.get(m, alert.began) for m in hit), default=alert.began)
        what = "behind" if key == "upstream" else f"with {key}"
        names = ", ".join(hit[:6]) + (f", +{len(hit) - 6} more" if len(hit) > 6 else "")
        out.append(
            Hint(
                SHARED_CAUSE,
                f"{len(hit)} of {len(behind)} models {what} {value} are in trouble since "
                f"{hhmm(first)} ({names})",
                min(score, 0.99),
                {
                    "label": key,
                    "value": value,
                    "models": hit,
                    "of": len(behind),
                    "since": first,
                    "log_signatures": [
                        log_hints[i].evidence.get("template") for i in corroborating
                    ],
                },
            )
        )
    rest = [h for i, h in enumerate(log_hints) if i not in folded]
    return out, rest
