"""Staging, the detector cache and the reports on a store instead of a local folder.

Workers on several machines share those files through a store URL with an Airflow connection
(`storage.location`); here the store is a real SFTP server in a process of its own
(`sftp_store`), reached through Airflow's SFTP provider with the connection's credentials. The
same hours run on a local folder and on the store must leave the same tables and the same
files.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.folders import REPORT_ENV, STAGING_ENV, Folders
from modelwatch.pipeline.runner import run_local
from modelwatch.sim.fleet import DEMO_DAY
from tests.conftest import ROOT, make_warehouse
from tests.integration.sftp_store import sftp_store
from tests.integration.test_pipeline import assert_same, snapshot

pytest.importorskip("sshfs", reason="the SFTP store needs apache-airflow-providers-sftp[sshfs]")

#: asyncssh logs every connection at INFO, also from sshfs's closing thread at exit.
logging.getLogger("asyncssh").setLevel(logging.WARNING)
#: The surge starts at 09: the hours fit detectors, alert, and draw plots into the reports.
HOURS = [DEMO_DAY + timedelta(hours=h) for h in (8, 9)]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A server, and a connection id of the test's own (Airflow keeps each connection's
    filesystem for the process: another test's would point at a server that has stopped)."""
    with sftp_store(tmp_path / "served") as served:
        conn = f"files_{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn.upper()}", served.connection())
        yield served, conn


def layout(root: Path) -> list[str]:
    """The files below `root`, relative, with the detector cache's source digest left out
    (it names the warehouse, which differs between the two runs)."""
    names = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(
        re.sub(r"^staging/_detectors/[0-9a-f]+/", "staging/_detectors/*/", n) for n in names
    )


def test_hours_on_an_sftp_store_leave_the_tables_and_files_of_a_local_folder(
    store, fleet, settings, tmp_path, monkeypatch
):
    served, conn = store
    local = make_warehouse(f"duckdb:///{tmp_path}/local.duckdb", fleet)
    monkeypatch.setenv(STAGING_ENV, str(tmp_path / "local" / "staging"))
    monkeypatch.delenv(REPORT_ENV, raising=False)  # reports/ beside staging
    for hour in HOURS:
        run_local(hour, local, settings)

    remote = make_warehouse(f"duckdb:///{tmp_path}/remote.duckdb", fleet)
    monkeypatch.setenv(STAGING_ENV, f"sftp://{conn}@/modelwatch/staging")
    monkeypatch.setenv(REPORT_ENV, f"sftp://{conn}@/modelwatch/reports")
    folders = Folders.from_env(settings)
    assert (folders.staging.protocol, folders.staging.conn_id) == ("sftp", conn)
    for hour in HOURS:
        run_local(hour, remote, settings)

    assert_same(snapshot(local), snapshot(remote))
    on_store = layout(served.root / "modelwatch")
    assert on_store == layout(tmp_path / "local")
    assert any(n.startswith("staging/_detectors/*/") for n in on_store)  # the cache
    assert "reports/20261101T09/report.html" in on_store
    assert any(n.endswith(".png") for n in on_store)  # the plots
    assert not [n for n in on_store if n.endswith(".tmp")]  # every write was renamed in place
    assert not [n for n in on_store if "/local__" in n]  # each run's staging was removed


def test_a_detector_fitted_on_the_store_is_loaded_from_it_by_another_process(
    store, fleet, settings, tmp_path, monkeypatch
):
    """A worker on another machine sees the detectors an earlier one fitted: the second hour
    stages no training history (its detectors are on the store, not in this process)."""
    served, conn = store
    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)
    monkeypatch.setenv(STAGING_ENV, f"sftp://{conn}@/mw/staging")
    monkeypatch.setenv(REPORT_ENV, f"sftp://{conn}@/mw/reports")
    run_local(HOURS[0], spec, settings)
    script = (
        "import sys\n"
        "from datetime import datetime\n"
        "from modelwatch.config import Settings\n"
        "from modelwatch.folders import Folders\n"
        "from modelwatch.pipeline import steps\n"
        "from modelwatch.run import build_run\n"
        "from modelwatch.warehouse import spec_from_uri\n"
        "s = Settings()\n"
        "run = build_run(datetime.fromisoformat(sys.argv[1]), s, spec_from_uri(sys.argv[2]),\n"
        "                Folders.from_env(s), run_id='other_worker')\n"
        "print('history_rows', steps.extract(run, {})['history_rows'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, HOURS[1].isoformat(), f"duckdb:///{spec.duckdb_path}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "include")},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "history_rows 0" in done.stdout.splitlines()
    staged = served.root / "mw" / "staging" / "20261101T09" / "other_worker"
    assert (staged / "hour.parquet").is_file()  # on the server's disk


def test_check_finds_the_store_answering_and_names_a_wrong_password(store, settings, monkeypatch):
    from modelwatch.cli.check import OK, PROBLEM, check_files

    served, conn = store
    monkeypatch.setenv(STAGING_ENV, f"sftp://{conn}@/mw/staging")
    monkeypatch.delenv(REPORT_ENV, raising=False)
    found = {f.check: f for f in check_files(settings)}
    assert found["staging"].state == found["reports"].state == OK
    assert f"sftp://{conn}@/mw/staging" in found["staging"].message

    wrong = f"refused_{uuid.uuid4().hex[:8]}"
    bad = served.connection().replace(":sftp-test-password@", ":not-the-password@")
    monkeypatch.setenv(f"AIRFLOW_CONN_{wrong.upper()}", bad)
    monkeypatch.setenv(STAGING_ENV, f"sftp://{wrong}@/mw/staging")
    found = {f.check: f for f in check_files(settings)}
    assert found["staging"].state == PROBLEM
    assert "not-the-password" not in found["staging"].message
