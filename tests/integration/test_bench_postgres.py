"""bench/bench_postgres.py on a tiny fleet against the real PostgreSQL: it creates its own
database, times the reads and the write, prints them and drops the database again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_ADMIN_URI, _pg_admin, require_postgres

ROOT = Path(__file__).resolve().parents[2]


def bench_databases() -> set[str]:
    with _pg_admin() as con, con.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'mw_bench_%'")
        return {row[0] for row in cur.fetchall()}


def test_a_tiny_fleet_on_postgres() -> None:
    require_postgres()
    before = bench_databases()
    tiny = ["--models", "8", "--days", "2", "--repeat", "1", "--server", PG_ADMIN_URI]
    done = subprocess.run(
        [sys.executable, "bench/bench_postgres.py", *tiny],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "include")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "fleet: 8 models x 2 days = " in out and "loaded into PostgreSQL" in out
    assert "extract one hour:" in out and "(480 rows)" in out  # 8 models x 60 minutes
    assert "write 8 score rows back:" in out
    assert bench_databases() <= before  # its own database dropped again
