"""Replay: one causal score per input row, any metric names, the DAG's own functions."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from modelwatch.config import DetectionConfig
from modelwatch.detection.stream import fit_schedule
from modelwatch.evaluation import replay as rp
from tests.unit.detection.frames import week_and_hour

CFG = DetectionConfig(stream_trees=50)


def _series(model: str, days: int = 6, seed: int = 0, spike_at: int | None = None) -> pd.DataFrame:
    """Five-minute rows of a noisy daily cycle, optionally with one large spike."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2026-03-01", periods=days * 288, freq="5min")
    phase = 2 * np.pi * np.arange(len(ts)) / 288
    value = 50 + 10 * np.sin(phase) + rng.normal(0, 1, len(ts))
    if spike_at is not None:
        value[spike_at] += 80
    return pd.DataFrame({"model_id": model, "ts": ts, "cpu": value, "disk": value * 0.5})


def test_one_row_per_input_row_in_input_order_with_duplicates() -> None:
    a, b = _series("a"), _series("b", seed=1)
    frame = pd.concat([a, b]).sample(frac=1.0, random_state=0)  # shuffled, interleaved
    frame = pd.concat([frame, frame.iloc[:5]])  # repeated (model_id, ts) rows
    out = rp.replay(frame, CFG)
    assert list(out.columns) == rp.OUTPUT_COLUMNS
    assert len(out) == len(frame)
    assert out["model_id"].tolist() == frame["model_id"].tolist()
    assert (out["ts"].to_numpy() == pd.to_datetime(frame["ts"]).to_numpy()).all()
    assert out["score"].between(0, 1).all() and out["is_anomaly"].dtype == bool


def test_scores_are_causal() -> None:
    """Changing the future must not change the past: rows before hour h are identical."""
    base = _series("a")
    changed = base.copy()
    cut = 4 * 288 + 7
    changed.loc[cut:, "cpu"] = changed.loc[cut:, "cpu"] * 3 + 100
    hour = changed["ts"].iloc[cut].floor("h")
    before = base["ts"] < hour
    s1 = rp.replay(base, CFG)["score"][before]
    s2 = rp.replay(changed, CFG)["score"][before]
    pd.testing.assert_series_equal(s1, s2)


def test_cold_start_rows_have_no_opinion_and_a_spike_is_detected() -> None:
    spike = 4 * 288 + 100
    out = rp.replay(_series("a", spike_at=spike), CFG)
    assert (out["score"].iloc[: CFG.stream_min_rows] == 0).all()
    assert out["explanation"].iloc[0] == "[]"
    assert out["is_anomaly"].iloc[spike]
    # the highest score of its day: the spike stands out against the same series' normal
    assert out["score"].iloc[spike] == out["score"].iloc[spike - 288 : spike + 1].max()
    expl = json.loads(out["explanation"].iloc[spike])
    assert expl[0]["metric"] in {"cpu", "disk"} and abs(expl[0]["robust_z"]) > 5


def test_a_series_too_short_to_fit_gets_no_opinion_not_an_error() -> None:
    """A model with under `stream_min_rows` rows never gets a forest: all its rows read 0."""
    short = _series("short", days=2).iloc[::24]  # two days of two-hourly rows: 24 rows
    long = _series("long")
    out = rp.replay(pd.concat([short, long]), CFG)
    mine = out[out["model_id"] == "short"]
    assert len(mine) == len(short)
    assert (mine["score"] == 0).all() and not mine["is_anomaly"].any()
    assert (mine["explanation"] == "[]").all()
    assert out.loc[out["model_id"] == "long", "score"].max() > 0


def test_fit_schedule_is_hourly_aligned_warms_up_by_doubling_then_refits_by_rows() -> None:
    ts = _series("a", days=6)["ts"].to_numpy()
    segs = fit_schedule(ts, CFG)
    starts = np.array([s.start for s in segs])
    stamps = pd.to_datetime(ts[starts])
    assert (stamps == stamps.floor("h")).all()
    assert starts[0] == CFG.stream_min_rows  # 96 five-minute rows: 8 whole hours
    assert starts[:3].tolist() == [96, 192, 384]  # the warm-up doubles
    assert (np.diff(starts)[2:] == CFG.stream_refit_rows).all()
    assert segs[-1].stop == len(ts)
    assert all(a.stop == b.start for a, b in itertools.pairwise(segs))


def test_an_hourly_series_is_refitted_by_rows_not_by_days() -> None:
    """Rows, not hours: the same rows at any cadence get the same fits (`--stretch`)."""
    hourly = pd.date_range("2026-01-01", periods=60 * 24, freq="h").to_numpy()
    five_min = pd.date_range("2026-01-01", periods=60 * 24, freq="5min").to_numpy()
    a = [s.start for s in fit_schedule(hourly, CFG)]
    b = [s.start for s in fit_schedule(five_min, CFG)]
    assert a == b and np.diff(a)[-1] == CFG.stream_refit_rows


def test_a_series_with_hundreds_of_rows_an_hour_is_refreshed_at_every_hour() -> None:
    """Ten-second rows (360 an hour): state is only refreshed at hour boundaries, so the first
    refresh waits for the first boundary past `stream_min_rows`, then one comes every hour
    (more than `stream_refit_rows` rows pass in each); a row is never scored by a refresh
    made within its own hour."""
    ts = pd.date_range("2026-01-01", periods=360 * 6, freq="10s").to_numpy()
    assert [s.start for s in fit_schedule(ts, CFG)] == [360, 720, 1080, 1440, 1800]


def test_one_row_an_hour_is_scored_and_fires_as_five_minute_rows_do() -> None:
    """A source with a one-hour interval: the same values one hour apart score as they do
    five minutes apart (everything counts rows), so a spike fires on its own row."""
    five = _series("a", spike_at=4 * 288 + 100)
    hourly = five.assign(ts=pd.date_range("2026-03-01", periods=len(five), freq="h"))
    a, b = rp.replay(five, CFG), rp.replay(hourly, CFG)
    np.testing.assert_array_equal(a["score"], b["score"])
    assert b["is_anomaly"].iloc[4 * 288 + 100]


def test_our_serving_schema_is_refused_with_where_to_replay_it(fleet) -> None:
    """Our schema goes through the hourly pipeline itself (`pipeline.replay`), never the
    per-row stream: the stream's features are not the DAG's."""
    m = fleet.metrics[fleet.metrics["model_id"] == "model-000"].head(200)
    _, metrics = rp.normalise_input(m)
    assert metrics is None
    with pytest.raises(ValueError, match="serving schema"):
        rp.replay(m, CFG)


def test_io_by_extension(tmp_path) -> None:
    frame = _series("a", days=1)
    for ext in ("csv", "parquet"):
        path = str(tmp_path / f"x.{ext}")
        rp.write_table(frame, path)
        back = rp.read_table(path)
        assert len(back) == len(frame)
    with pytest.raises(ValueError):
        rp.read_table(str(tmp_path / "x.json"))


def test_input_without_metrics_is_refused() -> None:
    with pytest.raises(ValueError, match="numeric metric"):
        rp.replay(pd.DataFrame({"model_id": ["a"], "ts": ["2026-01-01"]}), CFG)


def test_a_declared_metric_the_replay_input_lacks_is_a_clear_error(tmp_path, capsys) -> None:
    from modelwatch.cli.main import main

    rows, hist = week_and_hour()
    path = tmp_path / "in.parquet"
    pd.concat([hist, rows]).to_parquet(path)
    config = tmp_path / "mw.yaml"
    config.write_text("source:\n  extra_metrics:\n    - name: gpu_util\n")
    args = [
        "--config",
        str(config),
        "replay",
        "--metrics",
        str(path),
        "--out",
        str(tmp_path / "o.csv"),
    ]
    assert main(args) == 2
    assert "lacks declared metric(s) gpu_util" in capsys.readouterr().err
