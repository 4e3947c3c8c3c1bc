"""Metrics where a real fleet keeps them, for the source tests: a table of five-minute rows in
another database (PostgreSQL, SQLite or DuckDB), reached through an Airflow connection.

The rows are the simulated test fleet's, thinned to one every five minutes and cut to four of
the nine metrics, with `ts` zone-aware where the engine has such a type and no model_version:
what a CloudWatch-style rollup exported to a team's own database looks like.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from modelwatch.sim.fleet import DEMO_DAY, Fleet

#: The four metrics the fleet reports.
FOUR = ("request_rate", "latency_p99_ms", "error_rate", "cpu_util")
TABLE = "fleet_metrics"
CONN_ID = "modelwatch_metrics"
#: The hours the Done-when runs process: a clean stretch of the test fleet's incident day.
H0 = DEMO_DAY + timedelta(hours=2)
H1 = DEMO_DAY + timedelta(hours=4)


def five_minute_rows(fleet: Fleet, metrics: tuple[str, ...] = FOUR) -> pd.DataFrame:
    """The fleet's rows at :00, :05, ... with only `metrics`, `ts` zone-aware (UTC)."""
    m = fleet.metrics
    rows = m[m["ts"].dt.minute % 5 == 0]
    out = rows[["model_id", "ts", *metrics]].reset_index(drop=True)
    return out.assign(ts=out["ts"].dt.tz_localize("UTC"))


@contextlib.contextmanager
def metrics_database(engine: str, rows: pd.DataFrame, tmp_path: Path) -> Iterator[str]:
    """A database of `engine` holding `rows` as `TABLE`; yields its connection URI (the
    `AIRFLOW_CONN_*` form). PostgreSQL keeps `ts` as `timestamptz`, DuckDB as TIMESTAMPTZ,
    SQLite (no time type) as the text SQLAlchemy writes."""
    if engine == "postgres":
        import sqlalchemy as sa

        from tests.conftest import pg_database

        with pg_database() as uri:
            eng = sa.create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
            rows.to_sql(TABLE, eng, index=False)
            eng.dispose()
            yield uri
    elif engine == "sqlite":
        import sqlalchemy as sa

        path = tmp_path / "metrics.sqlite"
        eng = sa.create_engine(f"sqlite:///{path}")
        rows.assign(ts=rows["ts"].dt.tz_localize(None)).to_sql(TABLE, eng, index=False)
        eng.dispose()
        yield f"sqlite:///{path}"
    elif engine == "duckdb":
        import duckdb

        path = tmp_path / "metrics.duckdb"
        with duckdb.connect(str(path)) as con:
            con.execute("SET TimeZone = 'UTC'")
            con.register("frame", rows)
            con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM frame")
        yield f"duckdb:///{path}"
    else:
        raise ValueError(engine)


def tables_of(engine: str, uri: str) -> list[str]:
    """The tables of the metrics database (to show nothing was written there)."""
    import sqlalchemy as sa

    if engine == "duckdb":
        import duckdb

        with duckdb.connect(uri.removeprefix("duckdb:///"), read_only=True) as con:
            got = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            return sorted(r[0] for r in got)
    url = uri.replace("postgresql://", "postgresql+psycopg://")
    eng = sa.create_engine(url)
    try:
        return sorted(sa.inspect(eng).get_table_names())
    finally:
        eng.dispose()


def source_config(path: Path, staging: Path, **source: object) -> Path:
    """A settings file with the given `source` section (YAML flow style)."""
    import yaml

    body = {"staging_dir": str(staging), "source": source}
    path.write_text(yaml.safe_dump(body, default_flow_style=False))
    return path


def run_hours(config: Path, out: str, first: datetime, last: datetime, capsys) -> None:
    """`modelwatch run --from first --to last+1h` into the warehouse `out`, as the Done-when
    runs it: it must exit 0 and print no traceback."""
    from modelwatch.cli.main import main as cli

    argv = ["--config", str(config), "run", "--warehouse", out]
    iso = lambda t: f"{t:%Y-%m-%dT%H:%M}Z"  # noqa: E731
    code = cli([*argv, "--from", iso(first), "--to", iso(last + timedelta(hours=1))])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
