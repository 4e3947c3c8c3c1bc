"""A model id is data: a hostile one must not put an alert's plot outside the hour's folder
(the alert step creates the plot's parent folders, so a `../` in a file name would escape)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.config import Settings
from modelwatch.folders import Folders
from modelwatch.links import plot_name
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse
from tests.integration.alert_world import run_alerts, table, write_hour

HOSTILE = "../../../outside/evil"


def test_a_hostile_model_ids_plot_lands_inside_the_hour_folder(
    tmp_path: Path, fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)
    monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(tmp_path / "site" / "reports"))
    with open_warehouse(spec) as wh:  # the hostile id reports real metrics (so it is known)
        wh.execute(
            "UPDATE model_metrics SET model_id = :bad WHERE model_id = 'model-008'",
            {"bad": HOSTILE},
        )
    hour = DEMO_DAY + timedelta(hours=9)
    write_hour(spec, hour, anomalous={HOSTILE}, models=[HOSTILE, "model-009"])
    settings = Settings()
    got = run_alerts(spec, hour, settings)
    assert got["sent"] >= 1
    folder = Folders.from_env(settings).report(hour).resolve()
    pngs = [p.resolve() for p in tmp_path.rglob("*.png")]
    assert pngs, "the alert's plot was drawn"
    assert all(p.parent == folder for p in pngs), pngs
    assert not (tmp_path / "outside").exists()
    (alert_id,) = table(spec, "SELECT alert_id FROM mw_alerts")["alert_id"].tolist()
    assert (folder / plot_name(alert_id)).is_file()  # where the UI looks for it
