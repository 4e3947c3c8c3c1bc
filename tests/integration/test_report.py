"""The human report each run writes: the hour's findings and plots, in one HTML page.

Runs the pipeline without Airflow (`run_local`, the same steps as the DAG) over the start of the
surge on a DuckDB warehouse; the report's queries are the view's, tested on both backends in
tests/integration/test_ui.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.config import Settings
from modelwatch.links import REPORT_HTML, plot_name
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.ui import report
from modelwatch.warehouse import open_warehouse

SURGE = "model-000"
DRY = RunMode("manual", False, True)


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


@pytest.fixture(scope="module")
def reports(tmp_path_factory, fleet):
    """Hours 08-10 processed; each run's report under a folder of their own. Yields
    (warehouse spec, report folder, the summaries)."""
    from tests.conftest import make_warehouse

    base = tmp_path_factory.mktemp("report")
    spec = make_warehouse(f"duckdb:///{base}/w.duckdb", fleet)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MODELWATCH_REPORT_DIR", str(base / "reports"))
        done = {h: run_local(at(h), spec, Settings(), DRY, run_id=f"run__{h}") for h in (8, 9, 10)}
        yield spec, base / "reports", done


def test_every_run_writes_the_hours_report_with_its_findings(reports):
    _, folder, done = reports
    for h, summary in done.items():
        path = Path(summary["report"])
        assert path == folder / f"{at(h):%Y%m%dT%H}" / REPORT_HTML
        page = path.read_text()
        assert f"model_health: {at(h):%Y-%m-%d %H:00} UTC" in page
        assert f"run__{h}" in page
    nine = Path(done[9]["report"]).read_text()
    alert = f"{SURGE}:anomaly:{at(9):%Y%m%dT%H}"
    assert f'data-alert-id="{alert}"' in nine and "opened" in nine
    assert "robust z" in nine  # the explanation
    assert f"{SURGE}:{at(9):%Y%m%dT%H}:scale_up" in nine  # the hour's remediation request
    assert "<script" not in nine


def test_plots_are_drawn_when_an_alert_opens_and_reused_while_it_stays_open(reports):
    _, folder, done = reports
    name = plot_name(f"{SURGE}:anomaly:{at(9):%Y%m%dT%H}")  # a safe prefix plus a hash
    drawn = folder / f"{at(9):%Y%m%dT%H}" / name
    assert drawn.is_file() and drawn.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f'src="{name}"' in Path(done[9]["report"]).read_text()
    ten = Path(done[10]["report"]).read_text()
    assert f'src="../{at(9):%Y%m%dT%H}/{name}"' in ten  # still firing: the same picture
    assert not (folder / f"{at(10):%Y%m%dT%H}" / name).exists()


def test_rewriting_a_report_gives_the_same_page(reports):
    spec, folder, done = reports
    before = Path(done[10]["report"]).read_text()
    with open_warehouse(spec) as wh:
        again = report.write_report_html(wh, Settings(), at(10), folder / "again", "run__10", None)
    assert again.read_text() == before


def test_a_report_that_cannot_be_written_never_fails_the_run(tmp_path, fleet, monkeypatch):
    from tests.conftest import make_warehouse

    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(report, "write_report_html", broken)
    summary = run_local(at(3), spec, Settings(), DRY)
    assert summary["report"] is None and summary["models_scored"] > 0
