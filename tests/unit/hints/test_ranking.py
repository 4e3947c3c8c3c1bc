"""Hint finding and ranking on hand-made facts: scope and closeness of changes, the surge rule,
shared causes (with log signatures folded in as evidence), and a stable order."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from modelwatch.config import HintsConfig
from modelwatch.hints.changes import change_hints, scope
from modelwatch.hints.model import LOG_SIGNATURE, SHARED_CAUSE, AlertRef, Hint, ranked
from modelwatch.hints.shared import shared_hints
from modelwatch.hints.signatures import Signatures, is_surge

H = datetime(2026, 11, 1, 10)
LABELS = {
    "m1": {"team": {"ads"}, "upstream": {"fs-eu"}, "node_pool": {"np-1"}},
    "m2": {"team": {"ads"}, "upstream": {"fs-eu"}, "node_pool": {"np-2"}},
    "m3": {"team": {"risk"}, "upstream": {"fs-eu"}, "node_pool": {"np-2"}},
    "m4": {"team": {"risk"}, "upstream": {"fs-eu"}, "node_pool": {"np-1"}},
    "m5": {"team": {"recs"}, "upstream": {"redis"}, "node_pool": {"np-1"}},
}


def alert(model: str = "m1", began: datetime = H) -> AlertRef:
    return AlertRef(f"{model}:anomaly:x", model, "anomaly", began, began)


def changes(*rows: tuple) -> pd.DataFrame:
    cols = ["change_id", "ts", "model_id", "selector", "kind", "detail", "actor"]
    return pd.DataFrame(list(rows), columns=cols)


NONE = pd.DataFrame(columns=["model_id", "ts", "old", "new"])
NO_ACTIONS = pd.DataFrame(columns=["request_id", "model_id", "hour", "action", "status"])


def test_scope_is_the_model_a_dependency_a_label_or_nothing() -> None:
    assert scope({"model_id": "m1"}, "m1", LABELS) == "model"
    assert scope({"model_id": None, "selector": "upstream=fs-eu"}, "m1", LABELS) == "dependency"
    assert scope({"model_id": None, "selector": "node_pool=np-1"}, "m1", LABELS) == "label"
    assert scope({"model_id": None, "selector": "node_pool=np-2"}, "m1", LABELS) is None
    assert scope({"model_id": "m2", "selector": None}, "m1", LABELS) is None  # another model


def test_a_close_own_deploy_beats_a_far_label_change_and_others_deploys_are_ignored() -> None:
    ch = changes(
        ("C1", H - timedelta(minutes=10), "m1", None, "deploy", "v2", "ci"),
        ("C2", H - timedelta(hours=5), None, "node_pool=np-1", "infra", "upgrade", "gke"),
        ("C3", H - timedelta(minutes=5), "m2", None, "deploy", "decoy", "ci"),
        ("C4", H - timedelta(hours=9), "m1", None, "config", "too early", "x"),
    )
    found = ranked(change_hints(alert(), ch, NONE, NO_ACTIONS, LABELS, timedelta(hours=6)), 5)
    assert [h.evidence["change_id"] for h in found] == ["C1", "C2"]
    assert found[0].kind == "deploy" and found[1].kind == "change"


def test_an_inferred_version_change_is_not_repeated_beside_the_declared_deploy() -> None:
    ch = changes(("C1", H - timedelta(minutes=10), "m1", None, "deploy", "v2", "ci"))
    inferred = pd.DataFrame([{"model_id": "m1", "ts": H, "old": "v1", "new": "v2"}])
    found = change_hints(alert(), ch, inferred, NO_ACTIONS, LABELS, timedelta(hours=6))
    assert len(found) == 1
    alone = change_hints(alert(), changes(), inferred, NO_ACTIONS, LABELS, timedelta(hours=6))
    assert alone[0].evidence["inferred"] is True and alone[0].score < found[0].score


def test_the_surge_rule_needs_both_a_big_ratio_and_an_improbable_count() -> None:
    cfg = HintsConfig()
    assert is_surge(30, 2.0, cfg)
    assert not is_surge(3, 0.2, cfg)  # tiny counts: under min_count
    assert not is_surge(10500, 10000, cfg)  # huge steady counts: ratio too small
    assert not is_surge(25, 10, cfg)  # 2.5x


def counts(rows: list[tuple]) -> pd.DataFrame:
    cols = ["hour", "model_id", "template_id", "level", "template", "n", "first_ts", "examples"]
    return pd.DataFrame(
        [(H, m, t, lvl, tmpl, n, H, '["e1", "e2"]') for m, t, lvl, tmpl, n in rows], columns=cols
    )


def test_new_and_surging_signatures_are_found_and_widespread_ones_count_less() -> None:
    base = pd.DataFrame(
        [("m1", "tgc", "WARN", 10, 7, H - timedelta(days=3))],
        columns=["model_id", "template_id", "level", "hour_of_day", "total", "first_seen"],
    )
    c = counts(
        [
            ("m1", "tgc", "WARN", "GC pause <*> ms", 40),  # usual 1 an hour: surging
            ("m1", "terr", "ERROR", "timeout calling fs-eu after <*> ms", 80),  # new
            ("m1", "tflag", "INFO", "feature flag <*> enabled", 5),  # new, but also on m5
            ("m5", "tflag", "INFO", "feature flag <*> enabled", 5),
        ]
    )
    sigs = Signatures(c, base, 7, anomalous={"m1"})
    found = {h.evidence["template_id"]: h for h in sigs.hints(alert(), H, HintsConfig())}
    assert found["tgc"].evidence["status"] == "surging"
    assert found["terr"].evidence["status"] == "new" and found["terr"].evidence["now"] == 80
    assert found["tflag"].evidence["healthy_models_with_it"] == 1
    order = [h.evidence["template_id"] for h in ranked(list(found.values()), 5)]
    assert order == ["terr", "tgc", "tflag"]


def test_a_shared_dependency_folds_the_signatures_that_name_it() -> None:
    trouble = pd.DataFrame({"model_id": ["m1", "m2", "m3"], "hour": [H, H, H - timedelta(hours=1)]})
    sig = Hint(LOG_SIGNATURE, "timeouts", 0.9, {"template": "timeout calling fs-eu after <*> ms"})
    other = Hint(LOG_SIGNATURE, "gc", 0.3, {"template": "GC pause <*> ms"})
    shared, rest = shared_hints(alert(), H, trouble, LABELS, HintsConfig(), [sig, other])
    by_value = {h.evidence["value"]: h for h in shared}
    assert set(by_value) == {"fs-eu", "ads"}  # np-1 has only m1 in trouble
    assert by_value["fs-eu"].kind == SHARED_CAUSE and by_value["fs-eu"].score > sig.score
    assert by_value["fs-eu"].evidence["models"] == ["m1", "m2", "m3"]
    assert rest == [other]
    assert by_value["ads"].score < by_value["fs-eu"].score


def test_one_model_in_trouble_is_no_shared_cause() -> None:
    trouble = pd.DataFrame({"model_id": ["m1"], "hour": [H]})
    shared, _ = shared_hints(alert(), H, trouble, LABELS, HintsConfig(), [])
    assert shared == []


def test_ranking_is_stable_on_ties() -> None:
    a, b = Hint("change", "b", 0.5), Hint("change", "a", 0.5)
    assert [h.summary for h in ranked([a, b], 2)] == ["a", "b"]


def test_models_explained_by_their_dependency_count_for_no_other_label() -> None:
    trouble = pd.DataFrame({"model_id": ["m1", "m2", "m4", "m5"], "hour": [H] * 4})
    fresh = {"m2": {"timeout calling fs-eu"}, "m4": {"timeout calling fs-eu"}}
    shared, _ = shared_hints(alert("m5"), H, trouble, LABELS, HintsConfig(), [], fresh)
    # m1, m4 and m5 share np-1, but m4 times out on fs-eu: only m1 and m5 count for np-1
    pool = next(h for h in shared if h.evidence["value"] == "np-1")
    assert pool.evidence["models"] == ["m1", "m5"]
    # m1 sits behind fs-eu without the others' timeouts: the hint weighs half
    alone, _ = shared_hints(alert("m1"), H, trouble, LABELS, HintsConfig(), [], fresh)
    with_it, _ = shared_hints(
        alert("m1"),
        H,
        trouble,
        LABELS,
        HintsConfig(),
        [],
        {**fresh, "m1": {"timeout calling fs-eu"}},
    )
    fs = [h.score for h in alone if h.evidence["value"] == "fs-eu"]
    fs_named = [h.score for h in with_it if h.evidence["value"] == "fs-eu"]
    assert fs and fs_named and fs[0] == pytest.approx(fs_named[0] / 2)
