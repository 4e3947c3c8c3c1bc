"""The installed package is all an Airflow environment needs: Airflow's own commands, in a fresh
AIRFLOW_HOME with no plugins folder and no DAGs, find the Model health plugin and the `duckdb`
connection type through the package's entry points (`airflow.plugins`,
`apache_airflow_provider`). Run against this environment's installation of modelwatch: after a
change to the entry points in pyproject.toml, reinstall it (`make venv`, `pip install -e .`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def airflow_cli(home: Path, *args: str) -> object:
    """`airflow ARGS -o json` in a fresh home, as an operator would run it; its JSON output."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
    }
    env.pop("AIRFLOW__CORE__DAGS_FOLDER", None)
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fresh-airflow-home")


def test_airflow_plugins_lists_modelwatch_from_its_entry_point(home):
    plugins = airflow_cli(home, "plugins")
    ours = [p for p in plugins if p["name"] == "modelwatch"]
    assert len(ours) == 1, "not installed? pip install -e . registers the entry point"
    (plugin,) = ours
    assert "group='airflow.plugins'" in plugin["source"]  # the entry point, not a folder
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/modelwatch"]
    assert [v["name"] for v in plugin["external_views"]] == ["Model health"]


def test_the_duckdb_connection_type_is_registered_with_its_hook(home):
    hooks = airflow_cli(home, "providers", "hooks")
    (duckdb,) = [h for h in hooks if h["connection_type"] == "duckdb"]
    assert duckdb["package_name"] == "modelwatch"
    assert duckdb["class"] == "modelwatch.airflow.duckdb_hook.DuckDBHook"
    assert duckdb["hook_name"] == "DuckDB"
