"""NAB scoring (checked against a transcription of NAB's own sweeper) and the evaluator."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelwatch.cli.detect import add_commands
from modelwatch.evaluation import nab
from modelwatch.evaluation.incidents import evaluate, format_summary, write_incident_report

NAB_ROOT = Path("/work/shared/bench/nab")


def _nab_reference(timestamps, windows, tp=1.0, fp=0.11):
    """NAB v1.1 Sweeper.calcSweepScore, transcribed: (weights, in-window?, probationary?)."""

    def sig(x):
        return -1.0 if x >= 3.0 else 2 * (1 / (1 + math.exp(5 * x))) - 1.0

    ts, wl = list(timestamps), list(windows)
    max_tp = sig(-1.0)
    prob = min(math.floor(0.15 * len(ts)), 0.15 * 5000)
    out, cur, cur_r, cur_w, prev_r, prev_w = [], None, None, None, None, None
    for i, t in enumerate(ts):
        if wl and t == wl[0][0]:
            cur = wl.pop(0)
            cur_r = ts.index(cur[1])
            cur_w = float(cur_r - ts.index(cur[0]) + 1)
        if cur is not None:
            w = sig(-(cur_r - i + 1) / cur_w) * tp / max_tp
        else:
            pos = 3.0 if prev_r is None else abs(prev_r - i) / float(prev_w - 1)
            w = sig(pos) * fp
        out.append((w, cur is not None, i < prob))
        if cur is not None and t == cur[1]:
            prev_r, prev_w, cur = i, cur_w, None
    return out


def _file(n=400, wins=((100, 139), (250, 269))):
    ts = pd.Series(pd.date_range("2026-01-01", periods=n, freq="5min"))
    return ts, [(ts[a], ts[b]) for a, b in wins]


def test_sweep_points_match_nabs_sweeper() -> None:
    ts, wins = _file()
    weight, wid = nab.sweep_points(ts, wins)
    ref = _nab_reference(ts, wins)
    np.testing.assert_allclose(weight[60:], [r[0] for r in ref][60:], atol=1e-12)
    assert ((wid >= 0)[60:] == np.array([r[1] for r in ref])[60:]).all()
    assert ((wid == -2) == np.array([r[2] for r in ref])).all()


@pytest.mark.skipif(not NAB_ROOT.exists(), reason="NAB subset not present")
def test_sweep_points_match_nabs_sweeper_on_real_files() -> None:
    files = [f for f in nab.load_corpus(NAB_ROOT) if f.windows][:3]
    for f in files:
        weight, wid = nab.sweep_points(f.ts, f.windows)
        ref = _nab_reference(list(f.ts), f.windows)
        live = wid != -2
        np.testing.assert_allclose(weight[live], np.array([r[0] for r in ref])[live], atol=1e-12)


def test_perfect_null_and_late_detectors() -> None:
    ts, wins = _file()
    w, wid = nab.sweep_points(ts, wins)
    null = nab.score_corpus([(np.zeros(len(ts)), w, wid)])
    assert null.score == pytest.approx(0.0) and null.detected_windows == 0
    perfect = np.zeros(len(ts))
    perfect[[100, 250]] = 1.0
    assert nab.score_corpus([(perfect, w, wid)]).score == pytest.approx(100.0)
    late = np.zeros(len(ts))
    late[[139, 269]] = 1.0  # at the right edge: a small reward
    r = nab.score_corpus([(late, w, wid)])
    assert 50 < r.score < 60 and r.detected_windows == 2
    noisy = perfect.copy()
    noisy[[70, 80, 90]] = 1.0  # three false positives before the first window (after probation)
    r = nab.score_corpus([(noisy, w, wid)])
    assert r.score == pytest.approx(100 * (2 - 0.33 + 2) / 4) and r.false_positives == 3


def test_threshold_sweep_picks_the_best_threshold() -> None:
    ts, wins = _file()
    w, wid = nab.sweep_points(ts, wins)
    s = np.full(len(ts), 0.1)
    s[[100, 250]] = 0.9  # detections
    s[[300, 320]] = 0.5  # weaker false positives
    r = nab.score_corpus([(s, w, wid)])
    assert r.threshold == pytest.approx(0.9) and r.score == pytest.approx(100.0)


def _replay_like():
    ts = pd.date_range("2026-01-01", periods=2 * 24 * 60, freq="min")
    frame = pd.DataFrame({"model_id": "m1", "ts": ts, "score": 0.1, "is_anomaly": False})
    other = frame.assign(model_id="m2")
    frame.loc[1800, ["score", "is_anomaly"]] = [0.9, True]  # 30 min into incident 1
    frame.loc[2500, ["score", "is_anomaly"]] = [0.8, True]  # a false alarm
    scores = pd.concat([frame, other], ignore_index=True)
    incidents = pd.DataFrame(
        {
            "model_id": ["m1", "m2"],
            "kind": ["surge", "leak"],
            "start": [ts[1770], ts[1000]],
            "end": [ts[1890], ts[1100]],
        }
    )
    return scores, incidents


def test_event_metrics() -> None:
    scores, incidents = _replay_like()
    ev = evaluate(scores, incidents)
    s = ev.summary
    assert s["recall"] == 0.5 and s["precision"] == 0.5 and s["detections"] == 2
    assert s["mean_delay_min"] == pytest.approx(30.0)
    assert s["false_alarms_per_model_day"] == pytest.approx(1 / (2 * (2879 / 1440)))
    assert 0 < s["nab_is_anomaly"] < 50
    assert "event recall" in format_summary(ev)


def test_report_has_one_plot_per_incident(tmp_path) -> None:
    scores, incidents = _replay_like()
    ev = evaluate(scores, incidents)
    path = write_incident_report(ev, scores, tmp_path / "report.md")
    text = path.read_text()
    pngs = sorted((tmp_path / "report_plots").glob("*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 1000 for p in pngs)
    assert text.count("![") == 2


def test_cli_replay_then_evaluate(one_spike, capsys) -> None:
    import argparse

    tmp_path = one_spike
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "--config",
            str(tmp_path / "cfg.yaml"),
            "replay",
            "--metrics",
            str(tmp_path / "in.csv"),
            "--out",
            str(tmp_path / "out.parquet"),
            "--jobs",
            "1",
            "--quiet",
        ]
    )
    assert args.func(args) == 0
    args = parser.parse_args(
        [
            "--config",
            str(tmp_path / "cfg.yaml"),
            "evaluate",
            "--scores",
            str(tmp_path / "out.parquet"),
            "--incidents",
            str(tmp_path / "inc.csv"),
            "--report",
            str(tmp_path / "r.md"),
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "event recall         1.000" in out and (tmp_path / "r.md").exists()


def test_false_alarms_are_the_detections_nab_charges() -> None:
    """Outside every window and after the probation: in a window or in the first 15 % of
    the rows, a detection is not a false alarm."""
    ts = pd.date_range("2026-01-01", periods=1000, freq="5min")
    f = nab.NabFile("x.csv", pd.Series(ts), np.zeros(1000), [(ts[500], ts[600])])
    decision = np.zeros(1000)
    decision[[10, 149, 550, 700, 900]] = 1  # probation, probation, window, outside, outside
    assert nab.false_alarms(f, decision) == 2
