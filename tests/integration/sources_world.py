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
def metrics_database(
    engine: str, rows: pd.DataFrame, tmp_path: Path, more: dict[str, pd.DataFrame] | None = None
) -> Iterator[str]:
    """A database of `engine` holding `rows` as `TABLE` (and `more` tables beside it); yields
    its connection URI (the `AIRFLOW_CONN_*` form). PostgreSQL keeps zone-aware times as
    `timestamptz`, DuckDB as TIMESTAMPTZ, SQLite (no time type) as the text SQLAlchemy writes."""
    tables = {TABLE: rows, **(more or {})}
    if engine == "postgres":
        import sqlalchemy as sa

        from tests.conftest import pg_database

        with pg_database() as uri:
            eng = sa.create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
            for name, frame in tables.items():
                frame.to_sql(name, eng, index=False)
            eng.dispose()
            yield uri
    elif engine == "sqlite":
        import sqlalchemy as sa

        path = tmp_path / "metrics.sqlite"
        eng = sa.create_engine(f"sqlite:///{path}")
        for name, frame in tables.items():
            naive = {c: frame[c].dt.tz_localize(None) for c in frame if _aware(frame[c])}
            frame.assign(**naive).to_sql(name, eng, index=False)
        eng.dispose()
        yield f"sqlite:///{path}"
    elif engine == "duckdb":
        import duckdb

        path = tmp_path / "metrics.duckdb"
        with duckdb.connect(str(path)) as con:
            con.execute("SET TimeZone = 'UTC'")
            for name, frame in tables.items():
                con.register("frame", frame)
                con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
                con.unregister("frame")
        yield f"duckdb:///{path}"
    else:
        raise ValueError(engine)


def _aware(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.DatetimeTZDtype)


def companions(models: list[str], hour: datetime) -> dict[str, pd.DataFrame]:
    """The other inputs a team keeps beside its metrics: the hour's log lines, a week of
    predictions (and the hour's), the models' labels, a declared change; times zone-aware."""
    import numpy as np

    utc = lambda t: pd.Timestamp(t).tz_localize("UTC")  # noqa: E731
    logs = pd.DataFrame(
        {
            "ts": [utc(hour + timedelta(minutes=m)) for m in range(0, 60, 6)],
            "model_id": [models[i % len(models)] for i in range(10)],
            "level": ["ERROR"] * 10,
            "message": [f"request {i} timed out after 30 s" for i in range(10)],
            "logger": ["server"] * 10,
            "trace_id": [None] * 10,
        }
    )
    rng = np.random.default_rng(3)
    stamps = pd.date_range(hour - timedelta(days=8), hour + timedelta(hours=1), freq="30s")
    stamps = stamps[stamps < hour + timedelta(hours=1)]
    preds = pd.DataFrame(
        {
            "ts": np.tile(stamps, 2),
            "model_id": np.repeat(models[:2], len(stamps)),
            "prediction": rng.normal(0.5, 0.1, 2 * len(stamps)),
        }
    ).assign(ts=lambda f: f["ts"].dt.tz_localize("UTC"))
    labels = pd.DataFrame(
        {"model_id": models, "team": ["ads"] * len(models), "tier": ["standard"] * len(models)}
    )
    changes = pd.DataFrame(
        {
            "change_id": ["C1"],
            "ts": [utc(hour - timedelta(minutes=20))],
            "model_id": [models[0]],
            "selector": [None],
            "kind": ["deploy"],
            "detail": ["rolled out v2"],
            "actor": ["ci"],
        }
    )
    return {
        "model_logs": logs,
        "model_predictions": preds,
        "models": labels,
        "model_changes": changes,
    }


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
