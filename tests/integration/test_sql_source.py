"""A SQL metrics source apart from the warehouse: metrics in one database, outputs in another.

The metrics live in PostgreSQL, SQLite or DuckDB (each really started or opened here), reached
through an Airflow connection (`AIRFLOW_CONN_MODELWATCH_METRICS`) and its provider's hook
(DuckDB's: the package's own, registered as the `duckdb` type); the outputs go to a DuckDB
warehouse. Five-minute rows, four of the nine metrics, no `model_version`, `ts` zone-aware
where the engine has the type.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.config import Settings
from modelwatch.hints.tables import load_changes
from modelwatch.ingest.connect import open_source
from modelwatch.ingest.source import SourceError
from modelwatch.labels import table_labels
from modelwatch.warehouse import WarehouseError, open_warehouse, spec_from_uri
from modelwatch.warehouse.source_spec import SourceConnectionError, source_spec
from tests.integration.sources_world import (
    CONN_ID,
    FOUR,
    H0,
    H1,
    TABLE,
    companions,
    five_minute_rows,
    metrics_database,
    run_hours,
    source_config,
    tables_of,
)

ENGINES = ("postgres", "sqlite", "duckdb")
HOUR = timedelta(hours=1)
SOURCE = {
    "kind": "sql",
    "conn_id": CONN_ID,
    "table": TABLE,
    "interval": "5m",
    "metrics": list(FOUR),
}


@pytest.fixture(params=ENGINES)
def metrics_db(request, fleet, tmp_path, monkeypatch):
    """(engine, uri) of a database holding the five-minute table, its connection set."""
    with metrics_database(request.param, five_minute_rows(fleet), tmp_path) as uri:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", uri)
        yield request.param, uri


def test_modelwatch_run_scores_every_model_and_hour_from_a_table_elsewhere(
    metrics_db, fleet, tmp_path, capsys
) -> None:
    """The Done-when run on each engine: `modelwatch run --from H0 --to H1+1h` exits 0,
    prints no traceback, scores every model in every hour into the DuckDB warehouse, and
    leaves the metrics database as it was (no `mw_` table, nothing written)."""
    engine, uri = metrics_db
    before = tables_of(engine, uri)
    config = source_config(tmp_path / "mw.yaml", tmp_path / "staging", **SOURCE)
    out = f"duckdb:///{tmp_path / 'outputs.duckdb'}"
    run_hours(config, out, H0, H1, capsys)
    with open_warehouse(spec_from_uri(out)) as wh:
        scores = wh.query("SELECT hour, model_id, status FROM mw_scores ORDER BY hour, model_id")
        inputs = [t for t in wh.schema_tables("main") if not t.startswith("mw_")]
    models = sorted(fleet.metrics["model_id"].dropna().unique())
    hours = [H0 + i * HOUR for i in range(int((H1 - H0) / HOUR) + 1)]
    want = pd.MultiIndex.from_product([hours, models])
    got = pd.MultiIndex.from_frame(scores[["hour", "model_id"]].astype({"hour": "datetime64[ns]"}))
    assert sorted(got) == sorted(want)
    assert scores["status"].eq("scored").all(), scores[scores["status"] != "scored"]
    assert inputs == []  # the outputs' database holds no input table
    assert tables_of(engine, uri) == before == [TABLE]


def test_the_source_reads_windows_ids_and_hours_in_utc(metrics_db, fleet, monkeypatch) -> None:
    """Each read of the source against the same rows in pandas: the window, the models that
    reported, the newest row, the hours with rows, ids never seen, no versions."""
    if metrics_db[0] == "postgres":  # a session in New York must not shift a UTC window
        import sqlalchemy as sa

        url = metrics_db[1].replace("postgresql://", "postgresql+psycopg://")
        eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as con:
            name = url.rsplit("/", 1)[1]
            con.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET timezone = 'America/New_York'")
        eng.dispose()
    settings = Settings(source=SOURCE)
    rows = five_minute_rows(fleet).assign(ts=lambda f: f["ts"].dt.tz_localize(None))
    spec = source_spec(settings, spec_from_uri("duckdb:///:memory:"))
    start, end = H0, H0 + HOUR
    want = rows[(rows["ts"] >= start) & (rows["ts"] < end)]
    with open_source(spec, settings) as source:
        source.check()
        got = source.read(start, end, ["model-001", "model-003"])
        everyone = source.read(start, end)
        assert sorted(source.reporting(start, end)) == sorted(want["model_id"].unique())
        newest = source.newest(start - 3 * HOUR, end)
        hours = source.active_hours(start - 3 * HOUR, end)
        known = source.reported(["model-001", "nobody", "model-009"])
        assert source.versions(["model-001"], start, end) is None
    assert len(everyone) == len(want) == 12 * want["model_id"].nunique()
    assert got["model_id"].unique().tolist() == ["model-001", "model-003"]
    assert str(got["ts"].dtype).startswith("datetime64") and got["ts"].dt.tz is None
    assert got["ts"].min() == pd.Timestamp(start) and got["ts"].max() < pd.Timestamp(end)
    assert got["memory_util"].isna().all()  # not in source.metrics: an empty column
    assert got["cpu_util"].dtype == "float64" and got["cpu_util"].notna().all()
    assert set(newest.values()) == {end - timedelta(minutes=5)}
    assert hours == [start - 3 * HOUR + i * HOUR for i in range(4)]
    assert known == {"model-001", "model-009"}


def test_a_streamed_window_is_the_read_window_and_stages_the_same_history(
    metrics_db, fleet, tmp_path, monkeypatch
) -> None:
    """The training history's one streamed read (`stream`, a server-side cursor read a few
    rows at a time) holds the rows `read` gives, on each engine; and the history staged
    through it, in parts, is the history read a list of models at a time."""
    from modelwatch.ingest import sql_readers
    from modelwatch.ingest.extract import read_training_history, write_training_history

    monkeypatch.setattr(sql_readers, "STREAM_ROWS", 50)
    settings = Settings(source=SOURCE)
    spec = source_spec(settings, spec_from_uri("duckdb:///:memory:"))
    start, end = H0 - 6 * HOUR, H1
    models = sorted(fleet.metrics["model_id"].dropna().unique())
    key = ["model_id", "ts"]
    with (
        open_source(spec, settings) as source,
        open_warehouse(spec_from_uri(f"duckdb:///{tmp_path / 'out.duckdb'}"), migrate=True) as wh,
    ):
        frames = list(source.stream(start, end))
        whole = source.read(start, end)
        staged, _ = write_training_history(
            wh, source, settings, models[::-1], H1, tmp_path / "h.parquet", models_per_read=2
        )
        read, _ = read_training_history(wh, source, settings, models, H1)
    assert len(frames) > 3 and len(whole) > 500
    streamed = pd.concat(frames, ignore_index=True).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(streamed, whole.sort_values(key, ignore_index=True))
    history = pd.read_parquet(tmp_path / "h.parquet")
    assert staged == len(read) > 0
    pd.testing.assert_frame_equal(history, read.reset_index(drop=True), check_dtype=False)


def test_a_missing_connection_names_the_setting(tmp_path) -> None:
    settings = Settings(source={**SOURCE, "conn_id": "no_such_conn"})
    with pytest.raises(SourceConnectionError, match=r"source\.conn_id 'no_such_conn'"):
        source_spec(settings, spec_from_uri(f"duckdb:///{tmp_path / 'w.duckdb'}"))


def test_a_table_without_the_mapped_columns_names_the_setting(metrics_db) -> None:
    settings = Settings(source={**SOURCE, "columns": {"ts": "event_time"}})
    spec = source_spec(settings, spec_from_uri("duckdb:///:memory:"))
    with open_source(spec, settings) as source, pytest.raises(SourceError) as err:
        source.check()
    assert "no column 'event_time' for 'ts'" in str(err.value)
    assert "source.columns" in str(err.value)


def test_a_missing_table_names_the_setting(metrics_db) -> None:
    settings = Settings(source={**SOURCE, "table": "nowhere"})
    spec = source_spec(settings, spec_from_uri("duckdb:///:memory:"))
    with open_source(spec, settings) as source, pytest.raises(SourceError, match=r"source\.table"):
        source.check()


@pytest.fixture(params=ENGINES)
def beside(request, fleet, tmp_path, monkeypatch):
    """(engine, uri) of a metrics database that also holds the fleet's other inputs."""
    models = sorted(fleet.metrics["model_id"].dropna().unique())
    more = companions(models, H0)
    with metrics_database(request.param, five_minute_rows(fleet), tmp_path, more) as uri:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", uri)
        yield request.param, uri


def test_the_other_inputs_are_read_beside_the_metrics(beside, tmp_path, capsys) -> None:
    """With the metrics elsewhere, the log lines (`logs.source: sql`), the predictions, the
    labels table and the declared changes are read from the same connection, zone-aware times
    and all; the outputs (log counts, drift) land in the warehouse, and nothing is written to
    the source, which refuses a write."""
    engine, uri = beside
    before = tables_of(engine, uri)
    config = source_config(tmp_path / "mw.yaml", tmp_path / "staging", **SOURCE)
    text = config.read_text() + "logs: {source: sql}\n"
    config.write_text(text)
    out = f"duckdb:///{tmp_path / 'outputs.duckdb'}"
    run_hours(config, out, H0, H0, capsys)
    with open_warehouse(spec_from_uri(out)) as wh:
        logged = wh.query("SELECT lines, skipped FROM mw_log_hours WHERE hour = :h", {"h": H0})
        drift = wh.query("SELECT DISTINCT model_id FROM mw_drift WHERE hour = :h", {"h": H0})
        settings = Settings(source=SOURCE)
        spec = source_spec(settings, spec_from_uri(out))
        with open_source(spec, settings, wh) as source:
            inputs = source.companion(wh)
            labels = table_labels(inputs, settings.alerts.labels, None)
            changes = load_changes(inputs, settings, H0 - HOUR, H0 + HOUR)
            with pytest.raises(WarehouseError, match="never writes"):
                inputs.execute("DROP TABLE models")
    assert logged["lines"].tolist() == [10] and logged["skipped"].tolist() == [0]
    assert sorted(drift["model_id"]) == ["model-000", "model-001"]
    assert labels["model-003"] == {"team": "ads", "tier": "standard"}
    assert changes["ts"].tolist() == [pd.Timestamp(H0 - timedelta(minutes=20))]
    assert tables_of(engine, uri) == before
