"""Daily training: the day's detectors fitted ahead of the hourly runs, through the same
function and cache the hourly detect step uses, so scores never depend on who fitted them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from modelwatch.folders import STAGING_ENV, Folders
from modelwatch.pipeline import steps, training
from modelwatch.pipeline.runner import run_local
from modelwatch.run import WindowError
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run


def at(h: int) -> datetime:
    return DEMO_DAY + timedelta(hours=h)


def scores(spec, hour) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query("SELECT * FROM mw_scores WHERE hour = :h ORDER BY model_id", {"h": hour})


def test_the_day_comes_from_the_param_or_the_interval_end():
    assert training.resolve_day("2026-11-01", None) == DEMO_DAY
    end = datetime(2026, 11, 1, tzinfo=UTC)
    assert training.resolve_day(None, end) == DEMO_DAY
    assert training.resolve_day("", end) == DEMO_DAY
    with pytest.raises(WindowError, match="start of a day"):
        training.resolve_day("2026-11-01T09:00:00Z", None)
    with pytest.raises(WindowError, match="no day to train for"):
        training.resolve_day(None, None)


def test_trained_detectors_are_the_ones_the_hourly_run_would_fit(
    seeded, settings, tmp_path, monkeypatch
):
    # reference: an hourly run that fits in-run, with a cache of its own
    monkeypatch.setenv(STAGING_ENV, str(tmp_path / "in-run"))
    run_local(at(9), seeded, settings)
    fitted_in_run = scores(seeded, at(9))

    monkeypatch.setenv(STAGING_ENV, str(tmp_path / "trained"))
    folders = Folders.from_env(settings)
    shards = training.stage_training(seeded, settings, DEMO_DAY, folders)
    models = sorted(m for s in shards for m in s)
    assert models == sorted(fitted_in_run["model_id"])
    results = [
        training.train_shard(seeded, settings, DEMO_DAY, s, Folders.from_env(settings))
        for s in shards
    ]
    assert sum(r["fitted"] for r in results) == len(models)
    assert (
        training.stage_training(seeded, settings, DEMO_DAY, Folders.from_env(settings)) == []
    )  # a rerun fits nothing

    assert steps.extract(make_run(at(9), seeded, settings, run_id="t"), {})["history_rows"] == 0
    run_local(at(9), seeded, settings)
    pd.testing.assert_frame_equal(scores(seeded, at(9)), fitted_in_run)


def test_training_waits_for_the_previous_days_last_hour(seeded, settings):
    assert not training.last_hour_recorded(seeded, DEMO_DAY)
    run_local(at(-1), seeded, settings)
    assert training.last_hour_recorded(seeded, DEMO_DAY)
