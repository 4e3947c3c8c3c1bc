"""Shared fixtures: a private Airflow home, a small simulated fleet and seeded warehouses.

The environment is set before anything imports Airflow, so tests never touch a real Airflow
home, and every warehouse is a fresh DuckDB file under pytest's tmp_path.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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
from modelwatch.sim.fleet import Fleet, FleetSpec, simulate_fleet  # noqa: E402
from modelwatch.sim.seed import seed  # noqa: E402
from modelwatch.warehouse import WarehouseSpec, open_warehouse, spec_from_uri  # noqa: E402

#: The fleet the pipeline tests run on: the 7 canonical incidents plus healthy models.
TEST_FLEET = FleetSpec(n_models=10, days=9)

#: A PostgreSQL server for the tests; each test gets a database of its own on it.
PG_ADMIN_URI = os.environ.get("MODELWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin():
    import adbc_driver_postgresql.dbapi as pg

    return pg.connect(PG_ADMIN_URI, autocommit=True)


def require_postgres() -> None:
    """Skip when no PostgreSQL answers here, except in CI, where .ci/run starts one."""
    try:
        _pg_admin().close()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise RuntimeError(f"PostgreSQL at {PG_ADMIN_URI} is not reachable in CI") from exc
        pytest.skip(f"no PostgreSQL at {PG_ADMIN_URI}: {type(exc).__name__}")


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty database; dropped afterwards. Yields its URI."""
    require_postgres()
    name = f"mw_test_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as con, con.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URI.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with _pg_admin() as con, con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_run(
    hour,
    spec: WarehouseSpec,
    settings: Settings,
    mode=None,
    models=None,
    run_id: str | None = None,
):
    """A run of `hour` as `modelwatch run` builds it (folders from the test environment)."""
    from modelwatch.folders import Folders
    from modelwatch.run import build_run

    return build_run(hour, settings, spec, Folders.from_env(settings), mode, models, run_id)


@pytest.fixture(autouse=True)
def _secrets_registered_by_this_test_only() -> Iterator[None]:
    """Connections register their secrets for redaction process-wide (as a task process
    should); a test must not see the secrets an earlier test on the same worker read."""
    from modelwatch import connections

    saved = set(connections._registered)
    connections._registered.clear()
    yield
    connections._registered.clear()
    connections._registered.update(saved)


@pytest.fixture(scope="session")
def fleet() -> Fleet:
    return simulate_fleet(TEST_FLEET)


@pytest.fixture
def settings() -> Settings:
    return Settings()


def make_warehouse(uri: str, fleet: Fleet | None = None) -> WarehouseSpec:
    """Migrate the warehouse at `uri` and, given a fleet, seed it."""
    spec = spec_from_uri(uri)
    with open_warehouse(spec, migrate=True) as wh:
        if fleet is not None:
            seed(wh, fleet)
    return spec


@pytest.fixture(params=["duckdb", "postgres"])
def new_warehouse(request, tmp_path: Path) -> Iterator[Callable[..., WarehouseSpec]]:
    """A factory of fresh warehouses on each backend: DuckDB files and PostgreSQL databases."""
    with ExitStack() as stack:
        counter = iter(range(1000))

        def make(fleet: Fleet | None = None) -> WarehouseSpec:
            if request.param == "duckdb":
                return make_warehouse(f"duckdb:///{tmp_path}/w{next(counter)}.duckdb", fleet)
            return make_warehouse(stack.enter_context(pg_database()), fleet)

        yield make


@pytest.fixture
def seeded(new_warehouse, fleet: Fleet) -> WarehouseSpec:
    """A fresh warehouse holding the test fleet."""
    return new_warehouse(fleet)


@pytest.fixture
def empty_wh(new_warehouse) -> WarehouseSpec:
    return new_warehouse()


#: Test tiers are folders; each test gets its folder's marker (`-m unit`, `-m "not deployment"`).
TIERS = ("unit", "integration", "dags", "deployment")
#: Markers that start real servers; their tests must live in tests/deployment/.
REAL_SERVER_MARKERS = ("airflow_server", "celery", "browser")


@pytest.fixture
def one_spike(tmp_path: Path) -> Path:
    """Five days of one 5-minute series `x` with one spike on the fifth day (`in.csv`), its
    incident (`inc.csv`) and a settings file without dead time (`cfg.yaml`), in `tmp_path`."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    ts = pd.date_range("2026-01-01", periods=5 * 288, freq="5min")
    value = 10 + rng.normal(0, 1, len(ts))
    value[4 * 288] += 50
    pd.DataFrame({"model_id": "x", "ts": ts, "value": value}).to_csv(
        tmp_path / "in.csv", index=False
    )
    pd.DataFrame(
        {"model_id": ["x"], "start": [ts[4 * 288 - 10]], "end": [ts[4 * 288 + 10]]}
    ).to_csv(tmp_path / "inc.csv", index=False)
    (tmp_path / "cfg.yaml").write_text("detection:\n  refractory_rows: 0\n")
    return tmp_path


def _tier(nodeid: str) -> str | None:
    parts = nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "tests" and parts[1] in TIERS else None


def _real_server_module(nodeid: str) -> bool:
    return _tier(nodeid) == "deployment"


def pytest_collection_modifyitems(config, items) -> None:
    """Mark each test with its tier (its folder); run the deployment tier first (`_run_order`).
    A test outside the tier folders, or a real-server test outside tests/deployment/ (xdist
    would run it beside the deployments), is a usage error."""
    loose = [item.nodeid for item in items if _tier(item.nodeid) is None]
    if loose:
        raise pytest.UsageError(f"tests must live in a tier folder {TIERS}: {loose[:5]}")
    stray = [
        item.nodeid
        for item in items
        if any(item.get_closest_marker(m) for m in REAL_SERVER_MARKERS)
        and not _real_server_module(item.nodeid)
    ]
    if stray:
        raise pytest.UsageError(f"move these real-server tests to tests/deployment/: {stray}")
    for item in items:
        item.add_marker(getattr(pytest.mark, _tier(item.nodeid) or "unit"))
    items.sort(key=_run_order)  # stable


def _run_order(item) -> int:
    """The deployments first, the shared LocalExecutor one (the longest unit) before them all:
    xdist hands out units in this order, and the longest ones should not start last."""
    if not _real_server_module(item.nodeid):
        return 2
    return 0 if "/local_executor/" in item.nodeid else 1


#: The warehouse backends `new_warehouse` is parametrized over (part of a test's node id).
BACKENDS = ("duckdb", "postgres")


def _scheduling_unit(nodeid: str) -> str:
    """What xdist hands a worker at once: one deployment's tests, or a module's tests on one
    backend. A deployment's tests are its module's, or its folder's when the folder's modules
    share one deployment (tests/deployment/local_executor/); the two workers may each run a
    deployment at once. A module's DuckDB and PostgreSQL halves share no fixture above
    function scope but the cheap simulated fleets, so the two workers can split a long module
    (the what-if shadows ran 3-6 minutes alone at the end of the suite as one unit)."""
    module = nodeid.split("::", 1)[0]
    if _real_server_module(nodeid):
        folder = module.rsplit("/", 1)[0]
        return folder if folder != "tests/deployment" else module
    params = nodeid.rsplit("[", 1)[1].rstrip("]").split("-") if nodeid.endswith("]") else []
    backend = next((b for b in BACKENDS if b in params), None)
    return f"{module}[{backend}]" if backend else module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's scope scheduling with the units of `_scheduling_unit`: a deployment's tests (the
    LocalExecutor deployment's `airflow_server` started once, and stopped when its folder is
    done), and a module's tests per backend."""
    from xdist.scheduler import LoadScopeScheduling

    class RealServersTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scheduling_unit(nodeid)

    config.option.loadscopereorder = False  # the deployments, the longest units, go first
    return RealServersTogether(config, log)
