"""Empty extracts on DuckDB: a model without history, or an id nobody reports, must not change
the staged files' schema, or every later hour of the day fails for every model."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY, Fleet
from modelwatch.warehouse import WarehouseSpec, open_warehouse
from tests.conftest import make_warehouse

NEW = "model-new"


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


@pytest.fixture
def duck(tmp_path: Path, fleet: Fleet) -> WarehouseSpec:
    """The test fleet on DuckDB, plus a model that first reports at 10:00 of the incident day."""
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)
    m = fleet.metrics
    ts = m["ts"]
    new = m[(m["model_id"] == "model-008") & (ts >= at(10)) & (ts < at(13))].copy()
    new["model_id"] = NEW
    with open_warehouse(spec) as wh:
        wh.insert("model_metrics", new)
    return spec


def statuses(spec: WarehouseSpec, hour) -> dict[str, str]:
    with open_warehouse(spec) as wh:
        got = wh.query("SELECT model_id, status FROM mw_scores WHERE hour = :h", {"h": hour})
    return dict(zip(got["model_id"], got["status"], strict=True))


def test_a_model_first_reporting_mid_day_does_not_blind_the_fleet(duck) -> None:
    settings = Settings()
    run_local(at(9), duck, settings)  # fits every detector of the day
    run_local(at(10), duck, settings)  # model-new's first hour: no history at all
    summary = run_local(at(11), duck, settings)  # only model-new's detector is missing
    got = statuses(duck, at(11))
    assert got[NEW] == "insufficient_history"
    assert summary["models_scored"] == 10
    assert sum(s == "scored" for s in got.values()) == 10


def test_a_manual_run_naming_an_unknown_id_then_the_next_hour_scores_everyone(duck) -> None:
    settings = Settings()
    run_local(at(9), duck, settings)
    manual = RunMode("manual", notify=False, dry_run=True)
    summary = run_local(at(10), duck, settings, mode=manual, models=["no-such-model"])
    assert summary["models_no_data"] == 1
    with open_warehouse(duck) as wh:
        v = wh.query("SELECT model_id, status FROM mw_validation WHERE hour = :h", {"h": at(10)})
    assert v.values.tolist() == [["no-such-model", "no_data"]]
    nxt = run_local(at(11), duck, settings)
    assert nxt["models_scored"] == 10
    assert statuses(duck, at(11))[NEW] == "insufficient_history"
