"""Shared fixtures: a private Airflow home, a small simulated fleet and seeded warehouses.

The environment is set before anything imports Airflow, so tests never touch a real Airflow
home, and every warehouse is a fresh DuckDB file under pytest's tmp_path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="modelwatch-tests-"))
ROOT = Path(__file__).resolve().parents[1]
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "MODELWATCH_STAGING_DIR": str(_HOME / "staging"),
    }
)
os.environ.pop("MODELWATCH_CONFIG", None)
os.environ.pop("AIRFLOW_CONN_MODELWATCH_WAREHOUSE", None)

import pytest  # noqa: E402

from modelwatch.config import Settings  # noqa: E402
from modelwatch.seed import seed  # noqa: E402
from modelwatch.simulate import Fleet, FleetSpec, simulate_fleet  # noqa: E402
from modelwatch.warehouse import WarehouseSpec, open_warehouse, spec_from_uri  # noqa: E402

#: The fleet the pipeline tests run on: the 7 canonical incidents plus healthy models.
TEST_FLEET = FleetSpec(n_models=10, days=9)


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return simulate_fleet(TEST_FLEET)


@pytest.fixture
def settings() -> Settings:
    return Settings()


def make_warehouse(path: Path, fleet: Fleet | None = None) -> WarehouseSpec:
    spec = spec_from_uri(f"duckdb:///{path}")
    with open_warehouse(spec, migrate=True) as wh:
        if fleet is not None:
            seed(wh, fleet)
    return spec


@pytest.fixture
def seeded(tmp_path: Path, fleet: Fleet) -> WarehouseSpec:
    """A fresh warehouse holding the test fleet."""
    return make_warehouse(tmp_path / "warehouse.duckdb", fleet)


@pytest.fixture
def empty_wh(tmp_path: Path) -> WarehouseSpec:
    return make_warehouse(tmp_path / "empty.duckdb")
