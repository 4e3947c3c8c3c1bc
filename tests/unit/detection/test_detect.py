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
from modelwatch.detection.cache import DetectorStore
from modelwatch.detection.detector import empirical_log_tail, fit_detector
from modelwatch.detection.score import (
    SCORE_COLUMNS,
    STATUS_INSUFFICIENT,
    STATUS_NO_DATA,
    STATUS_QUARANTINED,
    STATUS_SCORED,
    detect_model,
    detect_models,
    excluded_verdict,
)
from modelwatch.detection.stream import log_score, red_zone_filter, refractory, stream_series
from modelwatch.sim.fleet import DEMO_DAY


def test_importing_detect_does_not_import_sklearn_or_scipy() -> None:
    code = (
        "import sys, modelwatch.detection.detector, modelwatch.detection.forest, "
        "modelwatch.detection.stream, modelwatch.detection.explain, "
        "modelwatch.detection.cache, modelwatch.detection.score, modelwatch.evaluation.replay, "
        "modelwatch.evaluation.incidents;"
        "bad = [m for m in ('sklearn', 'scipy') if m in sys.modules];"
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_empirical_log_tail_is_monotone_and_extends_beyond_the_reference() -> None:
    ref = np.sort(np.random.default_rng(0).exponential(size=1000))
    x = np.linspace(0, ref[-1] * 3, 200)
    lt = empirical_log_tail(ref, x)
    assert np.all(np.diff(lt) <= 1e-12)
    assert lt[0] > np.log(0.9)  # the bottom of the reference is typical
    beyond = x > ref[-1]
    assert np.all(lt[beyond] < np.log(0.5 / 1000))  # keeps falling past the largest value


def test_empirical_log_tail_with_a_tail_quantile_is_exponential_above_it() -> None:
    ref = np.sort(np.random.default_rng(1).exponential(size=1000))
    x = np.linspace(0, ref[-1] * 2, 300)
    lt = empirical_log_tail(ref, x, tail_quantile=0.9)
    assert np.all(np.diff(lt) <= 1e-12)
    q = ref[int(0.9 * 999)]
    above = x > q
    assert np.all(lt[above] <= np.log(0.1) + 1e-12)
    slope = np.diff(lt[above]) / np.diff(x[above])
    np.testing.assert_allclose(slope, slope[0])  # a straight line in log space


def test_refractory_fires_once_and_each_hit_extends_the_dead_time() -> None:
    cfg = DetectionConfig(refractory_rows=3, row_threshold=0.5)
    score = np.array([0.0, 0.9, 0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.0, 0.0, 0.6])
    out, fired = refractory(score, cfg)
    # 1 fires and silences rows 2-4; 4 is a hit within them (suppressed, silences 5-7); 8 is
    # the first row after that dead time: it fires; 13 is 5 rows after 8: it fires too
    assert np.flatnonzero(fired).tolist() == [1, 8, 13]
    assert out[4] == pytest.approx(0.8 * cfg.refractory_damp) and out[4] < cfg.row_threshold
    assert (out >= cfg.row_threshold).tolist() == fired.tolist()  # the sweep sees the decisions
    assert out[fired].tolist() == [1.0, 1.0, 1.0]  # a detection scores 1, whatever its margin
    assert out[0] == 0.0 and out[2] == 0.0


def test_a_run_of_red_zone_tails_scores_red_once() -> None:
    tail = np.array([0.5, 1e-7, 1e-8, 1e-9, 0.5, 1e-6])
    score = log_score(red_zone_filter(tail, prev=1.0))
    red = score >= 0.5
    assert red.tolist() == [False, True, False, False, False, True]


def _noisy(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, pd.DatetimeIndex]:
    ts = pd.date_range("2026-01-01", periods=n, freq="5min")
    rng = np.random.default_rng(seed)
    day = np.sin(2 * np.pi * np.arange(n) / 288)
    return (10 + day + rng.normal(0, 0.2, n))[:, None], ts


def test_stream_fires_on_a_spike_and_on_a_breach_and_stays_quiet_otherwise() -> None:
    cfg = DetectionConfig()
    values, ts = _noisy()
    values[2000] += 8.0  # far beyond the range: a breach
    score, fired, _ = stream_series(values, ts.to_numpy(), cfg, seed=0)
    assert fired[2000] and score[2000] == 1.0
    assert fired.sum() <= 3  # the rest of a clean daily cycle raises (almost) nothing
    assert (score[: cfg.stream_min_rows] == 0).all()  # no opinion before the first fit


def test_stream_likelihood_sees_a_within_range_change_of_behaviour() -> None:
    """A series that sits at a rare level inside its usual range: no breach, but the
    forest's calibrated scores stay up and the likelihood's moving average leaves its norm."""
    cfg = DetectionConfig(breach_tolerance=10.0)  # no breach possible: the likelihood alone
    values, ts = _noisy()
    rng = np.random.default_rng(5)
    values[2200:2400, 0] = 11.3 + rng.normal(0, 0.05, 200)  # the top is 11.5
    _, fired, _ = stream_series(values, ts.to_numpy(), cfg, seed=0)
    assert fired[2200:2300].any() and values[:2200].max() > 11.3


def test_stream_is_causal_scores_of_a_prefix_do_not_change() -> None:
    cfg = DetectionConfig()
    values, ts = _noisy(2000)
    values[1500:] += 3.0
    whole = stream_series(values, ts.to_numpy(), cfg, seed=0)
    for cut in (700, 1234, 1600):
        part = stream_series(values[:cut], ts[:cut].to_numpy(), cfg, seed=0)
        np.testing.assert_array_equal(part[0], whole[0][:cut])
        np.testing.assert_array_equal(part[1], whole[1][:cut])


def test_stream_sees_spikes_come_closer_together() -> None:
    """Zeros with a pair of spikes every 100 rows, then four spikes within ten rows: every
    value has been seen, only their density is new. The calibration's exponential tail stands
    for the top 10 % of training rows, so a spike (2 % of them) reads as rare and the
    likelihood's moving average leaves its norm on the burst; nowhere else."""
    n = 4000
    v = np.zeros(n)
    v[np.arange(0, n, 100)] = v[np.arange(6, n, 100)] = 20.0
    v[[2505, 2506, 2510, 2515]] = 20.0
    ts = pd.date_range("2026-01-01", periods=n, freq="5min")
    _, fired, _ = stream_series(v[:, None], ts.to_numpy(), DetectionConfig(), seed=0)
    assert np.flatnonzero(fired).tolist() == [2506]


def test_stream_refits_the_forest_once_its_rows_are_replaced(monkeypatch) -> None:
    """Refreshes every `stream_refit_rows`; the forest itself only when every row it learnt
    from has been replaced (doubling while young, then every `stream_train_rows`)."""
    from modelwatch.detection import stream

    fits: list[int] = []
    real = stream.fit_scorer
    monkeypatch.setattr(
        stream, "fit_scorer", lambda x, cfg, *a: fits.append(len(x)) or real(x, cfg, *a)
    )
    cfg = DetectionConfig(stream_trees=10)
    values, ts = _noisy(7000)
    starts = [s.start for s in stream.fit_schedule(ts.to_numpy(), cfg)]
    stream_series(values, ts.to_numpy(), cfg, seed=0)
    # refreshes at 96, 192, 384, 672, 960, ...; the forest at 96, 192, 384, 960 (576 rows
    # after 384), then 2,016 rows after each fit on a full window
    assert fits == [96, 192, 384, 960, 2016, 2016, 2016]
    assert len(starts) > 20
    fits.clear()
    stream_series(values, ts.to_numpy(), cfg.model_copy(update={"scorer": "zscore"}), seed=0)
    assert len(fits) == len(starts)  # a robust z is refitted at every refresh


def test_zscore_scorer_fires_on_a_level_shift_and_not_on_the_daily_cycle() -> None:
    cfg = DetectionConfig(scorer="zscore")
    values, ts = _noisy()
    values[2400:, 0] += 5.0  # a shift beyond the range
    _, fired, _ = stream_series(values, ts.to_numpy(), cfg, seed=0)
    assert fired[2400]
    assert fired[:2400].sum() <= 3


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


def test_the_hourly_stage_takes_the_robust_z_scorer_too(fleet) -> None:
    """`scorer: zscore` in the DAG's path: the same features, calibration and decision, a
    robust z of the features in place of the forest (what a what-if run compares)."""
    hour = DEMO_DAY + timedelta(hours=10)  # model-000's traffic surge (09-13)
    ts = fleet.metrics[schema.TS]
    rows = fleet.metrics[(ts >= hour) & (ts < hour + timedelta(hours=1))]
    hist = fleet.metrics[(ts >= hour - timedelta(days=7)) & (ts < hour)]
    cfg = DetectionConfig(scorer="zscore")
    by = detect_models(rows, hist, ["model-000", "model-008"], hour, cfg).set_index("model_id")
    assert by.loc["model-000", "is_anomaly"] and not by.loc["model-008", "is_anomaly"]


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
