"""bench/bench_extract.py on a tiny fleet against a real Prometheus (started by the script on a
free loopback port) and the real PostgreSQL: both extracts run and print their figures, and the
script's database is dropped again."""

from __future__ import annotations

from tests.conftest import PG_ADMIN_URI, require_postgres
from tests.integration.prometheus_world import prometheus_binaries
from tests.integration.test_bench_postgres import bench_databases, run_bench


def test_a_tiny_fleet_from_prometheus_and_postgres() -> None:
    require_postgres()
    prometheus_binaries()  # skipped locally without them, a failure in CI
    before = bench_databases()
    tiny = ["--models", "5", "--repeat", "1", "--clients", "--server", PG_ADMIN_URI]
    out = run_bench("bench_extract.py", tiny, timeout_s=600)
    assert "fleet: 5 models x 9 metrics" in out
    for source in ("Prometheus", "PostgreSQL"):
        (line,) = [x for x in out.splitlines() if x.startswith(f"{source}: extract one hour")]
        assert "(300 rows, 5 models in service)" in line  # 5 models x 60 minutes
    assert "clients: HttpHook" in out
    assert bench_databases() <= before
