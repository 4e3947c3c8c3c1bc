"""A custom metric declared in the config, replayed hour by hour through the DAG's functions
(`pipeline.runner.run_local`, notify on, dry run): a 4-model fleet whose models all report
`gpu_util` (`sim.life` extra_metric); model-003's GPU use rises 1.5x at 08:00 and stays, an
incident no built-in metric shows.

Declared "up", it pages when the 2-of-3 rule fires, once more at the repeat interval, then the
new level becomes the model's baseline and the alert resolves saying so (a resolve is not a
page). Declared "down", the same rise never pages. Measured: 2 pages (09:00 firing, 13:00
repeated), resolved at 15:00."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from modelwatch.config import Settings
from modelwatch.ingest.extract import read_metrics
from modelwatch.ingest.validate import StructuralValidationError
from modelwatch.links import REPORT_HTML
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import FleetSpec, simulate_fleet
from modelwatch.sim.life import LifeEvent
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse

H = timedelta(hours=1)
DRIFT = datetime(2026, 10, 30, 8)
START = DRIFT - 2 * H
N_MODELS, SICK = 4, "model-003"
EVENTS = tuple(LifeEvent("extra_metric", i, DRIFT, 1.5 if i == 3 else 1.0) for i in range(N_MODELS))
MODE = RunMode("scheduled", notify=True, dry_run=True)


def gpu_settings(direction: str) -> Settings:
    gpu = {"name": "gpu_util", "unit": "fraction", "direction": direction}
    return Settings.model_validate(
        {"source": {"extra_metrics": [gpu | {"min_value": 0, "max_value": 1}]}}
    )


def replay(folder: Path, direction: str, hours: int) -> dict[str, pd.DataFrame]:
    fleet = simulate_fleet(FleetSpec(n_models=N_MODELS, days=9, events=EVENTS))
    spec = make_warehouse(f"duckdb:///{folder}/w.duckdb", fleet)
    settings = gpu_settings(direction)
    for i in range(hours):
        run_local(START + i * H, spec, settings, mode=MODE, run_id=f"t__{i}")
    with open_warehouse(spec) as wh:
        out = {
            t: wh.query(f"SELECT * FROM {t}")
            for t in ("mw_notifications", "mw_alerts", "mw_scores", "mw_validation")
        }
        out["rows"] = read_metrics(wh, settings.source, DRIFT, DRIFT + H, [SICK])
    return out


@pytest.fixture(scope="module")
def watched_up(tmp_path_factory) -> tuple[dict[str, pd.DataFrame], Path]:
    folder = tmp_path_factory.mktemp("custom-up")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELWATCH_REPORT_DIR", str(folder / "reports"))
        return replay(folder, "up", 10), folder / "reports"  # 06:00 to 15:00


def pages(r: dict[str, pd.DataFrame]) -> pd.DataFrame:
    n = r["mw_notifications"]
    own = n[n["event"].isin(["firing", "repeated"]) & (n["state"] == "sent")]
    return own.assign(hour=pd.to_datetime(own["hour"]))


def test_a_rise_of_a_metric_declared_up_pages_then_becomes_the_new_normal(watched_up) -> None:
    r, _ = watched_up
    p = pages(r)
    assert p["model_id"].tolist() == [SICK, SICK]  # the healthy models never page
    assert p["event"].tolist() == ["firing", "repeated"]
    assert p["hour"].tolist() == [DRIFT + H, DRIFT + 5 * H]
    alerts = r["mw_alerts"]
    assert alerts["model_id"].tolist() == [SICK] and alerts["kind"].tolist() == ["anomaly"]
    assert pd.Timestamp(alerts["resolved_hour"].iloc[0]) == DRIFT + 7 * H
    assert "baseline moved" in alerts["summary"].iloc[0]
    assert "gpu_util" in alerts["summary"].iloc[0]  # the page names the metric that moved


def test_the_drift_is_explained_by_the_declared_metric(watched_up) -> None:
    r, _ = watched_up
    s = r["mw_scores"].assign(hour=lambda f: pd.to_datetime(f["hour"]))
    sick = s[(s["model_id"] == SICK) & (s["hour"] >= DRIFT) & s["is_anomaly"]]
    assert len(sick) >= 6 and sick["top_metrics"].str.startswith("gpu_util").all()
    assert not s.loc[s["model_id"] != SICK, "is_anomaly"].any()
    assert (r["mw_validation"]["status"] == "passed").all()
    assert "gpu_util" in r["rows"].columns and r["rows"]["gpu_util"].notna().all()


def test_the_report_shows_the_declared_metric(watched_up) -> None:
    _, reports = watched_up
    page = (reports / f"{DRIFT + H:%Y%m%dT%H}" / REPORT_HTML).read_text()
    assert "gpu_util" in page and "<script" not in page
    assert list((reports / f"{DRIFT + H:%Y%m%dT%H}").glob("*.png")), "the alert's plot"


def test_a_rise_of_a_metric_declared_down_never_pages(tmp_path) -> None:
    r = replay(tmp_path, "down", 5)  # 06:00 to 10:00: the rule would have fired at 09:00
    assert len(pages(r)) == 0 and r["mw_alerts"].empty
    assert not r["mw_scores"]["is_anomaly"].any()


def test_a_declared_metric_the_table_lacks_is_a_clear_error(tmp_path) -> None:
    fleet = simulate_fleet(FleetSpec(n_models=2, days=2))  # no gpu_util column
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)
    with pytest.raises(StructuralValidationError, match="missing: gpu_util"):
        run_local(datetime(2026, 11, 1, 6), spec, gpu_settings("up"), mode=MODE, run_id="t__x")
