"""`modelwatch init AIRFLOW_HOME` sets up a real Airflow home (SQLite metadata database, the
`airflow` CLI run as an operator would): the DAG files of the installed package, a commented
settings file that loads to the defaults, and the warehouse pool; Airflow parses the DAGs
without an import error and `modelwatch check` finds the pool and both DAGs. Run again, it
changes nothing; it never overwrites the operator's settings or pool, nor a DAG file that
differs without `--force`. Without a metadata database it writes the files and says how to
create the pool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from modelwatch.cli.init import DAG_FILES, dag_sources
from modelwatch.config import Settings, load_settings
from tests.integration.test_cli import cli


def home_env(home: Path) -> dict[str, str]:
    """An operator's shell for this home: its own dags folder (init's), no examples."""
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    return env


def airflow(home: Path, *args: str) -> str:
    """`airflow ARGS` in the home; its stdout (with `-o json`, the document is the last line:
    Airflow prints warnings on stdout before it)."""
    binary = Path(sys.executable).with_name("airflow")
    done = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, env=home_env(home), timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def last_json(out: str) -> object:
    return json.loads(out.strip().splitlines()[-1])


def init(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in home_env(home).items() if k != "AIRFLOW_HOME"}  # the argument says
    return cli("-q", "init", str(home), *args, env=env)


def test_init_sets_up_a_home_that_airflow_parses_and_runs_again_unchanged(tmp_path):
    home = tmp_path / "airflow"
    airflow(home, "db", "migrate")
    first = init(home, "--pool-slots", "2")
    assert first.returncode == 0, first.stderr
    for name in DAG_FILES:
        assert (home / "dags" / name).read_bytes() == dag_sources()[name]
        assert f"wrote {home / 'dags' / name}" in first.stdout
    assert "pool modelwatch_warehouse created (2 slots)" in first.stdout
    assert load_settings(home / "modelwatch.yaml").digest() == Settings().digest()

    airflow(home, "dags", "reserialize")  # the dag-processor's parse of the home's dags/
    assert last_json(airflow(home, "dags", "list-import-errors", "-o", "json")) == []
    ids = {d["dag_id"] for d in last_json(airflow(home, "dags", "list", "-o", "json"))}
    assert ids == {"model_health", "model_training"}
    checked = cli(
        "check", "--json", env={**home_env(home), "AIRFLOW_CONN_MODELWATCH_WAREHOUSE": ""}
    )
    found = {f["check"]: f for f in json.loads(checked.stdout)["findings"]}
    assert found["airflow pool"]["message"] == "pool modelwatch_warehouse: 2 slot(s)"
    assert found["dag model_health"]["state"] == found["dag model_training"]["state"] == "ok"

    (home / "modelwatch.yaml").write_text("detection: {threshold: 0.9}\n")  # the operator's
    airflow(home, "pools", "set", "modelwatch_warehouse", "5", "resized by the operator")
    again = init(home)
    assert again.returncode == 0, again.stderr
    assert f"unchanged {home / 'dags' / 'model_health.py'}" in again.stdout
    assert "pool modelwatch_warehouse exists (5 slots): kept" in again.stdout
    assert (home / "modelwatch.yaml").read_text() == "detection: {threshold: 0.9}\n"


def test_a_changed_dag_file_is_replaced_only_with_force(tmp_path):
    home = tmp_path / "airflow"
    assert init(home).returncode == 0
    edited = home / "dags" / "model_health.py"
    edited.write_text(edited.read_text() + "\n# a local edit\n")
    refused = init(home)
    assert refused.returncode == 2
    assert f"{edited} differ(s) from this version's DAG files: --force" in refused.stderr
    assert edited.read_text().endswith("# a local edit\n")
    forced = init(home, "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"replaced {edited}" in forced.stdout
    assert edited.read_bytes() == dag_sources()["model_health.py"]


def test_without_a_metadata_database_init_writes_the_files_and_says_how_to_get_the_pool(tmp_path):
    home = tmp_path / "airflow"
    done = init(home)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (home / "dags").iterdir()) == sorted(DAG_FILES)
    assert "pool modelwatch_warehouse not created: no Airflow metadata database" in done.stdout
    assert "airflow pools set modelwatch_warehouse 1" in done.stdout
    assert not (home / "airflow.db").exists()  # init creates no metadata database itself
