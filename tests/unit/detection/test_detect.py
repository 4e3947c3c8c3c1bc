"""The detector: its forest, calibration, score stream, cache and the DAG contract."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch import schema
from modelwatch.config import DetectionConfig
from modelwatch.detection.detector import empirical_log_tail, fit_detector
from modelwatch.detection.forest import PackedForest, grow_forest
from modelwatch.detection.hourly import (
    SCORE_COLUMNS,
    STATUS_INSUFFICIENT,
    STATUS_NO_DATA,
    STATUS_QUARANTINED,
    STATUS_SCORED,
    detect_model,
    detect_models,
    excluded_verdict,
)
from modelwatch.detection.store import DetectorStore
from modelwatch.detection.stream import StreamState, stream_scores
from modelwatch.sim.fleet import DEMO_DAY


def test_importing_detect_does_not_import_sklearn_or_scipy() -> None:
    code = (
        "import sys, modelwatch.detection.detector, modelwatch.detection.forest, "
        "modelwatch.detection.stream, modelwatch.detection.explain, "
        "modelwatch.detection.store, modelwatch.detection.hourly, modelwatch.evaluation.replay, "
        "modelwatch.evaluation.incidents;"
        "bad = [m for m in ('sklearn', 'scipy') if m in sys.modules];"
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _blob(n: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[:, 2] = np.where(rng.random(n) < 0.9, 0.0, x[:, 2])  # mostly constant feature
    x[:10] += 8.0  # ten clear outliers
    return x


def test_packed_sklearn_forest_scores_exactly_like_sklearn() -> None:
    from sklearn.ensemble import IsolationForest

    x = _blob()
    forest = IsolationForest(n_estimators=30, max_samples=128, random_state=3).fit(x)
    packed = PackedForest.from_sklearn(forest)
    np.testing.assert_allclose(packed.raw(x), -forest.score_samples(x), rtol=0, atol=1e-12)


def test_numpy_forest_ranks_like_sklearn() -> None:
    from scipy.stats import spearmanr
    from sklearn.ensemble import IsolationForest

    x = _blob()
    ours = grow_forest(x, 100, 256, seed=1).raw(x)
    ref = (
        -IsolationForest(n_estimators=100, max_samples=256, random_state=1).fit(x).score_samples(x)
    )
    assert spearmanr(ours, ref)[0] > 0.9
    assert ours[:10].min() > np.quantile(ours[10:], 0.99)  # outliers on top
    assert abs(ours[10:].mean() - ref[10:].mean()) < 0.02  # same scale (path lengths)


def test_forest_scores_in_chunks_exactly_as_in_one_pass() -> None:
    x = _blob(n=1500)
    forest = grow_forest(x, 40, 128, seed=2)
    chunked = forest.raw(x)  # 1500 rows > CHUNK_ROWS: scored in three passes
    forest.CHUNK_ROWS = 10_000
    np.testing.assert_array_equal(chunked, forest.raw(x))


def test_generic_detector_calibrates_on_its_latest_rows_only() -> None:
    ts = pd.date_range("2026-01-01", periods=3000, freq="5min")
    value = np.random.default_rng(0).normal(size=len(ts))
    hist = pd.DataFrame({"model_id": "m", "ts": ts, "value": value})
    det = fit_detector(hist, DetectionConfig(calibration_rows=512), "m", ["value"])
    assert len(det.train_raw) == 512 and len(det.pooled_ref) == 512
    assert det.n_train_rows == 3000


def test_empirical_log_tail_is_monotone_and_extends_beyond_the_reference() -> None:
    ref = np.sort(np.random.default_rng(0).exponential(size=1000))
    x = np.linspace(0, ref[-1] * 3, 200)
    lt = empirical_log_tail(ref, x)
    assert np.all(np.diff(lt) <= 1e-12)
    assert lt[0] > np.log(0.9)  # the bottom of the reference is typical
    beyond = x > ref[-1]
    assert np.all(lt[beyond] < np.log(0.5 / 1000))  # keeps falling past the largest value


def _stream(log_tails: list[float], cfg: DetectionConfig):
    return stream_scores(np.array(log_tails), StreamState(), cfg)


def test_stream_fires_once_per_refractory_period_and_damps_echoes() -> None:
    cfg = DetectionConfig(stream_rows=1, refractory_rows=3, row_threshold=0.5)
    big = np.log(1e-8)  # -log10 tail = 8 -> score 2/3
    score, fired, anomalous = _stream([0.0, big, big, 0.0, big, 0.0], cfg)
    assert fired.tolist() == [False, True, False, False, True, False]
    assert anomalous.tolist() == [False, True, True, False, True, False]
    assert score[2] == pytest.approx(score[1] * cfg.refractory_damp)
    assert score[0] == 0.0 and 0.6 < score[1] < 0.7


def test_stream_refractory_carries_across_batches() -> None:
    """Replay scores a series segment by segment: splitting it anywhere changes nothing."""
    cfg = DetectionConfig(stream_rows=4, refractory_rows=5, row_threshold=0.5)
    rng = np.random.default_rng(3)
    lt = -rng.exponential(1.0, 60)
    lt[[10, 12, 16, 30, 33]] = np.log(1e-12)
    whole = stream_scores(lt, StreamState(), cfg)
    for cut in (1, 11, 13, 15, 31, 59):
        state = StreamState()
        a = stream_scores(lt[:cut], state, cfg)
        b = stream_scores(lt[cut:], state, cfg)
        np.testing.assert_allclose(whole[0], np.r_[a[0], b[0]], rtol=1e-12)  # rolling sums
        np.testing.assert_array_equal(whole[1], np.r_[a[1], b[1]])
        np.testing.assert_array_equal(whole[2], np.r_[a[2], b[2]])
    fired = np.flatnonzero(whole[1])
    assert fired[0] == 10 and np.diff(fired).min() >= cfg.refractory_rows


def test_stream_pools_a_sustained_moderate_shift() -> None:
    cfg = DetectionConfig(stream_rows=6, refractory_rows=0, row_threshold=0.5)
    moderate = np.log(0.02)  # each row alone: a 1-in-50 tail, far from a detection
    score, fired, _ = _stream([0.0] * 6 + [moderate] * 6, cfg)
    assert not fired[:6].any()
    assert score[-1] > score[6] and fired[-1]


def test_a_lone_moderately_odd_row_does_not_fire_but_an_extreme_one_does() -> None:
    """The pooled tail: one 1-in-1,000 row among typical ones is not a detection (on spiky
    series those were most false alarms), one 1-in-10^12 row is."""
    cfg = DetectionConfig()
    typical = [-1.0] * 40  # surprise 1: the mean of a typical row
    _, fired, _ = _stream([*typical, np.log(1e-3), *typical], cfg)
    assert not fired.any()
    _, fired, _ = _stream([*typical, np.log(1e-12), *typical], cfg)
    assert fired.tolist().index(True) == 40


def _model_frames(fleet, model_id: str, hour):
    m = fleet.metrics[fleet.metrics[schema.MODEL_ID] == model_id]
    rows = m[(m[schema.TS] >= hour) & (m[schema.TS] < hour + timedelta(hours=1))]
    day = hour.replace(hour=0)  # what extract reads: the week before the day began
    hist = m[(m[schema.TS] >= day - timedelta(days=7)) & (m[schema.TS] < day)]
    return rows, hist


def test_detect_models_contract_and_incident_hour(fleet) -> None:
    hour = DEMO_DAY + timedelta(hours=10)  # model-000's traffic surge (09-13)
    models = ["model-000", "model-008", "model-999"]
    rows = fleet.metrics[
        (fleet.metrics[schema.TS] >= hour) & (fleet.metrics[schema.TS] < hour + timedelta(hours=1))
    ]
    hist = fleet.metrics[
        (fleet.metrics[schema.TS] >= hour - timedelta(days=7)) & (fleet.metrics[schema.TS] < hour)
    ]
    out = detect_models(rows, hist, models, hour, DetectionConfig())
    assert list(out.columns) == SCORE_COLUMNS
    by = out.set_index("model_id")
    assert by.loc["model-999", "status"] == STATUS_NO_DATA
    assert by.loc["model-000", "is_anomaly"] and by.loc["model-000", "score"] > 0.99
    assert not by.loc["model-008", "is_anomaly"] and by.loc["model-008", "score"] < 0.9
    expl = json.loads(by.loc["model-000", "explanation"])
    assert {e["metric"] for e in expl} == set(schema.METRIC_NAMES)
    zs = [abs(e["robust_z"]) for e in expl]
    assert zs == sorted(zs, reverse=True)
    assert by.loc["model-000", "top_metrics"].split(",")[0] == expl[0]["metric"]


def test_insufficient_history_is_reported_not_scored(fleet) -> None:
    hour = DEMO_DAY + timedelta(hours=10)
    rows, hist = _model_frames(fleet, "model-008", hour)
    short = hist[hist[schema.TS] >= hour - timedelta(hours=5)]
    v = detect_model("model-008", rows, short, hour, DetectionConfig())
    assert v.status == STATUS_INSUFFICIENT and v.score is None


def test_store_keeps_one_detector_per_day_fitted_before_the_day(fleet, tmp_path) -> None:
    cfg = DetectionConfig()
    day = DEMO_DAY
    h9 = day + timedelta(hours=9)
    h10 = h9 + timedelta(hours=1)
    rows9, hist9 = _model_frames(fleet, "model-008", h9)
    rows10, hist10 = _model_frames(fleet, "model-008", h10)
    store = DetectorStore(tmp_path, cfg)
    first = detect_model("model-008", rows9, hist9, h9, cfg, store)
    assert store.path("model-008", day).exists() and first.status == STATUS_SCORED
    cached = detect_model("model-008", rows10, hist10, h10, cfg, store)
    fresh_store = DetectorStore(tmp_path, cfg)  # a new task process reads the file
    again = detect_model("model-008", rows10, hist10, h10, cfg, fresh_store)
    assert cached.score == again.score
    det = fresh_store.load("model-008", h9)
    assert det is not None and pd.Timestamp(det.fitted_at) == day  # causal for every hour
    other = DetectorStore(tmp_path, DetectionConfig(n_estimators=50))
    assert other.load("model-008", h10) is None  # settings changed: no stale forest


def test_scores_do_not_depend_on_the_order_hours_run_in(fleet, tmp_path) -> None:
    """A backfill of earlier hours after later ones (or a cold cache) changes no score."""
    cfg = DetectionConfig()
    hours = [DEMO_DAY + timedelta(hours=h) for h in (10, 3, 10, 17)]
    frames = {h: _model_frames(fleet, "model-003", h) for h in set(hours)}
    store = DetectorStore(tmp_path, cfg)
    scored = [detect_model("model-003", *frames[h], h, cfg, store).score for h in hours]
    cold = {h: detect_model("model-003", *frames[h], h, cfg).score for h in set(hours)}
    assert scored[0] == scored[2]  # hour 10 before and after hour 3 ran
    assert scored == [cold[h] for h in hours]  # and the same as without any cache


def test_detect_models_with_store_gives_the_same_scores_for_the_first_hour(fleet, tmp_path):
    hour = DEMO_DAY + timedelta(hours=3)
    rows, hist = _model_frames(fleet, "model-003", hour)
    plain = detect_models(rows, hist, ["model-003"], hour, DetectionConfig())
    cached = detect_models(rows, hist, ["model-003"], hour, DetectionConfig(), store_dir=tmp_path)
    pd.testing.assert_frame_equal(plain, cached)


def test_excluded_verdict_is_a_score_row() -> None:
    row = excluded_verdict("m", DEMO_DAY, STATUS_QUARANTINED, 12)
    assert set(row) == set(SCORE_COLUMNS) and row["status"] == "quarantined"
    assert json.loads(row["explanation"]) == []


def test_a_feature_that_never_varied_in_training_still_raises_the_score(fleet) -> None:
    """model-003's memory sat inside its band all week, so the forest never split on it; the
    leak (04-12) is caught by the beyond-range signal, also by a forest fitted at midnight."""
    m = fleet.metrics[fleet.metrics[schema.MODEL_ID] == "model-003"]
    hist = m[(m[schema.TS] >= DEMO_DAY - timedelta(days=7)) & (m[schema.TS] < DEMO_DAY)]
    hour = DEMO_DAY + timedelta(hours=8)
    rows = m[(m[schema.TS] >= hour) & (m[schema.TS] < hour + timedelta(hours=1))]
    cfg = DetectionConfig()
    det = fit_detector(hist, cfg, "model-003", fitted_at=DEMO_DAY)
    assert det.hour_score(rows) >= cfg.threshold
    assert np.median(det.row_tail(rows, beyond_gain=0.0)) < cfg.threshold
    quiet = m[(m[schema.TS] >= DEMO_DAY + timedelta(hours=20))]
    assert det.hour_score(quiet.iloc[:60]) < 0.9
