"""Which models an alert run rebuilds: a phantom id named in a manual run never pages, and a
full run rebuilds (so resolves) the open alert of a model that is no longer judged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from tests.conftest import make_warehouse
from tests.integration.alert_world import MODELS, H, run_alerts, table, write_hour

MANUAL = RunMode("manual", notify=True, dry_run=True)
SCHEDULED = RunMode("scheduled", notify=True, dry_run=True)


def test_a_phantom_model_id_never_opens_a_page_and_no_alert_stays_open(
    tmp_path: Path, fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)
    reports = tmp_path / "reports"
    monkeypatch.setenv("MODELWATCH_REPORT_DIR", str(reports))
    settings = Settings()
    nine = DEMO_DAY + timedelta(hours=9)
    # a real model beside the phantom: a run naming only unknown ids extracts nothing and fails
    run_local(nine, spec, settings, MANUAL, models=["model-000", "ghost"], run_id="manual__9")
    for h in range(10, 13):
        run_local(DEMO_DAY + timedelta(hours=h), spec, settings, SCHEDULED, run_id=f"sch__{h}")
    ghost = table(spec, "SELECT * FROM mw_alerts WHERE model_id = 'ghost'")
    assert ghost[ghost["resolved_hour"].isna()].empty
    pages = table(spec, "SELECT * FROM mw_notifications WHERE model_id = 'ghost'")
    assert pages.empty
    # recorded as unknown where the operator who named it looks: the hour's alert notes
    notes = (reports / f"{nine:%Y%m%dT%H}" / "alerts.md").read_text()
    assert "Unknown model ids" in notes and "`ghost`" in notes
    # the models the warehouse knows still page as before: the surge of model-000 fired
    fired = table(spec, "SELECT DISTINCT model_id FROM mw_alerts")["model_id"].tolist()
    assert "model-000" in fired


def test_a_full_run_resolves_the_open_alert_of_a_model_no_longer_judged(tmp_path: Path) -> None:
    """m05 has no data at 09:00 (an outage opens), then leaves the fleet: no verdicts at all.
    Later full runs still rebuild it, so the outage resolves and the resolve is notified."""
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    settings = Settings()
    write_hour(spec, H, no_data={"m05"})
    run_alerts(spec, H, settings)
    remaining = [m for m in MODELS if m != "m05"]
    for i in (1, 2, 3):
        write_hour(spec, H + timedelta(hours=i), models=remaining)
        run_alerts(spec, H + timedelta(hours=i), settings)
    outage = table(spec, "SELECT * FROM mw_alerts WHERE model_id = 'm05'")
    assert outage["alert_id"].tolist() == ["m05:outage:20261101T09"]
    assert outage["resolved_hour"].notna().all()
    sent = table(spec, "SELECT event, state FROM mw_notifications WHERE model_id = 'm05'")
    assert sorted(sent.itertuples(index=False, name=None)) == [
        ("firing", "sent"),
        ("resolved", "sent"),
    ]
