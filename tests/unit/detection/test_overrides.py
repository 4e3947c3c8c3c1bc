"""Detection under per-model overrides: a model's own threshold, excluded metrics and minimum
history, and detector cache keys that change for that model only."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.config import DetectionConfig
from modelwatch.detection.cache import DetectorStore
from modelwatch.detection.exclusion import kept_features, without_metrics
from modelwatch.detection.explain import MetricExplanation
from modelwatch.detection.features import FEATURES
from modelwatch.detection.per_model import ModelDetection
from modelwatch.detection.score import STATUS_SCORED, detect_models
from tests.unit.detection.frames import DAY, HOUR, serving_rows, week_and_hour

FLEET = DetectionConfig()


def two_models(memory_jump: float = 1.0):
    """Two identical healthy models; in the scored hour both memory utilisations are x
    `memory_jump` (an incident only that metric shows)."""
    rows_a, hist_a = week_and_hour("a", seed=3)
    rows_b, hist_b = rows_a.assign(model_id="b"), hist_a.assign(model_id="b")
    rows = [r.assign(memory_util=r["memory_util"] * memory_jump) for r in (rows_a, rows_b)]
    return pd.concat(rows, ignore_index=True), pd.concat([hist_a, hist_b], ignore_index=True)


def test_an_anomaly_only_in_an_excluded_metric_does_not_make_the_model_anomalous() -> None:
    rows, hist = two_models(memory_jump=1.6)
    changes = {"a": {"exclude_metrics": ["memory_util"]}}
    out = detect_models(rows, hist, ["a", "b"], HOUR, FLEET, changes=changes).set_index("model_id")
    assert out.loc["b", "is_anomaly"], "the same hour without the override is anomalous"
    assert out.loc["b", "top_metrics"].split(",")[0] == "memory_util"
    assert out.loc["a", "status"] == STATUS_SCORED and not out.loc["a", "is_anomaly"]
    named = {e["metric"] for e in json.loads(out.loc["a", "explanation"])}
    assert "memory_util" not in named and "memory_util" not in out.loc["a", "top_metrics"]
    assert len(named) == len(json.loads(out.loc["b", "explanation"])) - 1


def test_a_lower_threshold_makes_a_borderline_hour_anomalous_and_is_recorded() -> None:
    rows, hist = two_models()
    plain = detect_models(rows, hist, ["a", "b"], HOUR, FLEET).set_index("model_id")
    score = float(plain.loc["a", "score"])
    assert not plain.loc["a", "is_anomaly"] and 0.0 < score < FLEET.threshold
    low = round(score - 0.01, 6)
    out = detect_models(rows, hist, ["a", "b"], HOUR, FLEET, changes={"a": {"threshold": low}})
    out = out.set_index("model_id")
    assert out.loc["a", "is_anomaly"] and out.loc["a", "threshold"] == low
    assert out.loc["a", "score"] == score  # the decision moved, not the score
    assert not out.loc["b", "is_anomaly"] and out.loc["b", "threshold"] == FLEET.threshold


def test_a_longer_minimum_history_keeps_a_young_model_off_the_day_detector(tmp_path) -> None:
    """26 h of history before the day: enough for a fleet day detector (24 h), not for one
    that needs 48 h; that model is scored by the hourly-refitted warm-up detector (on every
    row before the hour, never cached)."""
    start = DAY - timedelta(hours=26)
    hist = serving_rows("a", start, int((HOUR - start) / timedelta(minutes=1)), seed=1)
    both = pd.concat([hist, hist.assign(model_id="b")], ignore_index=True)
    rows = serving_rows("a", HOUR, 60, seed=2)
    rows = pd.concat([rows, rows.assign(model_id="b")], ignore_index=True)
    changes = {"a": {"min_history_hours": 48}}
    out = detect_models(rows, both, ["a", "b"], HOUR, FLEET, tmp_path, changes=changes)
    assert (out["status"] == STATUS_SCORED).all()
    per = ModelDetection(FLEET, changes, tmp_path)
    assert per.path("b", DAY).exists(), "the fleet's day detector of b was fitted and cached"
    assert not per.path("a", DAY).exists(), "a waits for 48 h: no day detector yet"
    n_train = out.set_index("model_id")["n_train_rows"]
    assert n_train["a"] > n_train["b"]  # warm-up: every row before the hour, not the day


def test_only_fit_settings_change_a_models_detector_key(tmp_path) -> None:
    changes = {
        "threshold_only": {"threshold": 0.9},
        "excluded": {"exclude_metrics": ["cpu_util"]},
        "longer": {"min_history_hours": 48},
    }
    per = ModelDetection(FLEET, changes, tmp_path)
    fleet_path = DetectorStore(tmp_path, FLEET).path("threshold_only", DAY)
    assert per.path("threshold_only", DAY) == fleet_path  # a threshold never refits
    for m in ("excluded", "longer"):
        assert per.path(m, DAY).name != DetectorStore(tmp_path, FLEET).path(m, DAY).name
    assert per.path("other", DAY) == DetectorStore(tmp_path, FLEET).path("other", DAY)
    other = ModelDetection(FLEET, {"excluded": {"exclude_metrics": ["memory_util"]}}, tmp_path)
    assert other.path("excluded", DAY) != per.path("excluded", DAY)  # changed override: refit


def test_the_fleet_key_is_the_one_from_before_exclude_metrics_existed(tmp_path) -> None:
    """An empty `exclude_metrics` is not part of the key: upgrading refits nothing."""
    import hashlib

    from modelwatch.detection.cache import STORE_FORMAT

    legacy = FLEET.model_dump_json(exclude={"exclude_metrics"})
    digest = hashlib.sha256(f"{STORE_FORMAT}:{legacy}".encode()).hexdigest()[:10]
    assert DetectorStore(tmp_path, FLEET).digest == digest


def test_a_cached_detector_with_exclusions_scores_like_a_fresh_one(tmp_path) -> None:
    rows, hist = two_models(memory_jump=1.6)
    changes = {"a": {"exclude_metrics": ["memory_util"]}}
    fresh = detect_models(rows, hist, ["a"], HOUR, FLEET, changes=changes)
    first = detect_models(rows, hist, ["a"], HOUR, FLEET, tmp_path, changes=changes)
    cached = detect_models(rows, hist.iloc[0:0], ["a"], HOUR, FLEET, tmp_path, changes=changes)
    assert fresh["score"].iloc[0] == first["score"].iloc[0] == cached["score"].iloc[0]
    det = ModelDetection(FLEET, changes, tmp_path).store("a").load("a", HOUR)
    assert det is not None and det.keep is not None
    assert "memory_util" not in [FEATURES[i] for i in det.keep]


@pytest.mark.parametrize(
    ("exclude", "gone"),
    [
        ((), set()),
        (("replicas",), {"log_load_per_replica"}),
        (("request_rate",), {"log_request_rate", "log_load_per_replica"}),
        (("latency_p99_ms", "cpu_util"), {"log_latency_p99", "cpu_util"}),
    ],
)
def test_a_feature_goes_when_any_metric_it_reads_is_excluded(exclude, gone) -> None:
    keep = kept_features(exclude)
    kept = set(FEATURES) if keep is None else {FEATURES[i] for i in keep}
    assert kept == set(FEATURES) - gone


def test_an_unknown_feature_reads_the_metric_of_its_own_name() -> None:
    keep = kept_features(["gpu_util"], features=("cpu_util", "gpu_util"))
    assert keep is not None and list(keep) == [0]
    with pytest.raises(ValueError, match="no feature"):
        kept_features(["cpu_util"], features=("cpu_util",))


def test_explanations_drop_excluded_metrics_and_keep_the_order() -> None:
    ex = [MetricExplanation(m, 1.0, 0.0, z) for m, z in (("a", 9.0), ("b", 5.0), ("c", 1.0))]
    assert [e.metric for e in without_metrics(ex, ["b"])] == ["a", "c"]
    assert without_metrics(ex, []) is ex
