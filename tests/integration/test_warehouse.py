"""The warehouse interface on DuckDB: parameters, migrations, atomic replaces, and writers in
separate processes contending for the file lock, as Airflow's task processes do."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from modelwatch.warehouse import (
    WarehouseError,
    held_open,
    open_warehouse,
    spec_from_uri,
    warehouse_spec,
)
from modelwatch.warehouse.base import expand_params, migrations, quote_ident, to_driver

H = datetime(2026, 11, 1, 9)


def test_list_params_expand_to_in_lists_and_empty_matches_nothing():
    sql, params = expand_params("x IN :ids AND y = :y", {"ids": ["a", "b"], "y": 1})
    assert sql == "x IN (:ids__0, :ids__1) AND y = :y"
    assert params == {"ids__0": "a", "ids__1": "b", "y": 1}
    sql, params = expand_params("x IN :ids", {"ids": []})
    assert sql == "x IN (NULL)" and params == {}


def test_a_long_list_of_ids_is_one_parameter_and_selects_what_placeholders_do(empty_wh):
    """An hour of thousands of models: one JSON parameter, not a placeholder per id (DuckDB
    bound 10,000 of them in 0.2 s per query); the same rows either way, on both backends."""
    ids = [f"m-{i:04d}" for i in range(300)]
    _sql, bound = expand_params(
        "x IN :ids AND n IN :ns", {"ids": ids, "ns": list(range(100))}, "duckdb"
    )
    assert next(iter(bound)) == "ids" and len(bound) == 1 + 100  # the ints stay placeholders
    with open_warehouse(empty_wh) as wh:
        wh.execute("CREATE TABLE t (model_id VARCHAR, n INTEGER)")
        wh.insert("t", pd.DataFrame({"model_id": [*ids, "other", "o'q"], "n": range(302)}))
        asked = [*ids[::3], "o'q", "absent"]
        long = wh.query("SELECT * FROM t WHERE model_id IN :m ORDER BY n", {"m": asked})
        short = pd.concat(
            [
                wh.query("SELECT * FROM t WHERE model_id IN :m", {"m": asked[i : i + 50]})
                for i in range(0, len(asked), 50)
            ]
        ).sort_values("n", ignore_index=True)
        pd.testing.assert_frame_equal(long, short, check_dtype=False)
        assert len(long) == 101
        wh.execute("DELETE FROM t WHERE model_id NOT IN :m", {"m": asked})
        assert wh.query("SELECT COUNT(*) AS c FROM t")["c"].iloc[0] == 101


def test_a_streamed_result_holds_the_query_rows_and_frees_the_connection(empty_wh, monkeypatch):
    """`batches` (the training history's one read of a fleet's week) yields the rows `query`
    gives, in several frames where the result is larger than one, on both backends; the
    connection answers the next statement; a bad statement is a WarehouseError."""
    from modelwatch.warehouse import duckdb_backend

    monkeypatch.setattr(duckdb_backend, "BATCH_ROWS", 1_000)
    with open_warehouse(empty_wh) as wh:
        wh.execute("CREATE TABLE t (model_id VARCHAR, ts TIMESTAMP, x DOUBLE PRECISION)")
        rows = pd.DataFrame(
            {
                "model_id": [f"m{i % 7}" for i in range(5_000)],
                "ts": pd.date_range(H, periods=5_000, freq="min"),
                "x": [float(i) if i % 11 else None for i in range(5_000)],
            }
        )
        wh.insert("t", rows)
        sql = "SELECT * FROM t WHERE model_id IN :m AND ts >= :start"
        params = {"m": ["m1", "m2", "m5"], "start": H + timedelta(minutes=100)}
        frames = list(wh.batches(sql, params))
        whole = wh.query(sql, params)
        streamed = pd.concat(frames, ignore_index=True)
        key = ["model_id", "ts"]
        pd.testing.assert_frame_equal(
            streamed.sort_values(key, ignore_index=True),
            whole.sort_values(key, ignore_index=True),
            check_dtype=False,
        )
        assert len(whole) > 2_000
        if wh.dialect == "duckdb":
            assert len(frames) > 1 and max(len(f) for f in frames) < 2 * 1_000 + 2_048
        assert wh.query("SELECT COUNT(*) AS n FROM t")["n"].iloc[0] == 5_000
        # times and numbers only: PostgreSQL's statement carries them as literals (streamed)
        window = {"start": H + timedelta(minutes=10), "end": H + timedelta(days=2), "lo": 0.5}
        sql = "SELECT * FROM t WHERE ts >= :start AND ts < :end AND x > :lo"
        streamed = pd.concat(list(wh.batches(sql, window)), ignore_index=True)
        pd.testing.assert_frame_equal(
            streamed.sort_values(key, ignore_index=True),
            wh.query(sql, window).sort_values(key, ignore_index=True),
            check_dtype=False,
        )
        assert 2_000 < len(streamed) < 5_000
        empty = list(wh.batches("SELECT * FROM t WHERE x < -1"))
        assert sum(len(f) for f in empty) == 0
        with pytest.raises(WarehouseError):
            list(wh.batches("SELECT nope FROM t"))
        assert wh.query("SELECT COUNT(*) AS n FROM t")["n"].iloc[0] == 5_000


def test_times_and_numbers_become_typed_literals_and_text_never_does():
    """PostgreSQL streams only a statement without parameters; what may be written into it."""
    from datetime import UTC

    from modelwatch.warehouse.postgres_backend import with_literals

    aware = datetime(2026, 11, 1, 4, 30, tzinfo=UTC) + timedelta(microseconds=5)
    sql = "ts >= :a AND ts < :b AND n > :n AND x <= :x AND ok = :ok"
    got = with_literals(sql, {"a": H, "b": aware, "n": -3, "x": 0.25, "ok": True})
    assert got == (
        "ts >= TIMESTAMP '2026-11-01 09:00:00' AND "
        "ts < TIMESTAMP WITH TIME ZONE '2026-11-01 04:30:00.000005+00:00' AND n > -3 AND "
        "x <= 0.25 AND ok = TRUE"
    )
    assert with_literals("x = :a", {"a": "x'; DROP TABLE t; --"}) is None
    assert with_literals("x = :a", {"a": float("nan")}) is None
    assert with_literals("x = :a", {"a": None}) is None


def test_missing_parameter_is_an_error_and_casts_are_not_placeholders():
    with pytest.raises(WarehouseError, match=":y"):
        expand_params("x = :y", {})
    assert to_driver("SELECT 1::INT, :a", "dollar") == "SELECT 1::INT, $a"
    assert to_driver("SELECT '%', :a", "pyformat") == "SELECT '%%', %(a)s"


def test_identifiers_from_config_are_quoted_or_refused():
    assert quote_ident("metrics.model_metrics") == '"metrics"."model_metrics"'
    with pytest.raises(WarehouseError):
        quote_ident('x"; DROP TABLE y; --')


def test_connection_uri_and_json_forms(monkeypatch):
    assert spec_from_uri("duckdb:////tmp/a/w.duckdb").duckdb_path == "/tmp/a/w.duckdb"
    js = '{"conn_type": "duckdb", "extra": {"path": "/tmp/b.duckdb"}}'
    assert spec_from_uri(js).duckdb_path == "/tmp/b.duckdb"
    pg = spec_from_uri("postgresql://u:s3cret@db.example:5432/wh")
    assert (pg.conn_type, pg.host, pg.port, pg.schema) == ("postgres", "db.example", 5432, "wh")
    assert "s3cret" not in repr(pg) and "s3cret" not in pg.describe()
    monkeypatch.delenv("AIRFLOW_CONN_NOPE", raising=False)
    with pytest.raises(WarehouseError, match="AIRFLOW_CONN_NOPE"):
        warehouse_spec("nope")


def test_unsupported_connection_type_is_refused():
    with pytest.raises(WarehouseError, match="mysql"):
        open_warehouse(spec_from_uri("mysql://x@h/db"))


def test_migrations_apply_once_in_order(empty_wh):
    with open_warehouse(empty_wh) as wh:
        assert wh.schema_version() == max(v for v, _, _ in migrations())
        assert wh.migrate() == []  # nothing left to apply
        for table in (
            "mw_runs",
            "mw_validation",
            "mw_scores",
            "mw_alerts",
            "mw_notifications",
            "mw_remediation_requests",
        ):
            assert wh.table_exists(table), table


def test_table_exists_answers_for_what_information_schema_lists(empty_wh):
    """Tables, views, temporary tables and another schema's tables exist, as
    information_schema.tables lists them; a dropped or never made one does not. (DuckDB answers
    from its catalog functions, which are faster; PostgreSQL from information_schema.)"""
    made = {"a": "TABLE a (x INTEGER)", "v": "VIEW v AS SELECT 1 AS one"}
    made |= {"b": "TABLE other_schema.b (y INTEGER)", "t": "TEMPORARY TABLE t (z INTEGER)"}
    with open_warehouse(empty_wh) as wh:
        wh.execute("CREATE SCHEMA other_schema")
        for ddl in made.values():
            wh.execute(f"CREATE {ddl}")
        listed = set(wh.query("SELECT table_name FROM information_schema.tables")["table_name"])
        assert set(made) <= listed
        assert all(wh.table_exists(name) for name in made)
        wh.execute("DROP TABLE a")
        assert not wh.table_exists("a") and not wh.table_exists("never_made")
        assert "a" not in set(
            wh.query("SELECT table_name FROM information_schema.tables")["table_name"]
        )


def test_columns_of_answers_as_information_schema_does(empty_wh):
    """Every column with its type in lower case, zone-aware times named so, a missing table
    empty (DuckDB answers from duckdb_columns(), PostgreSQL from information_schema)."""
    with open_warehouse(empty_wh) as wh:
        wh.execute("CREATE TABLE c (model_id VARCHAR, ts TIMESTAMPTZ, x DOUBLE PRECISION)")
        asked = (
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'c'"
        )
        listed = wh.query(f"{asked} ORDER BY ordinal_position")
        got = wh.columns_of("c")
        assert sorted(got) == ["model_id", "ts", "x"]
        assert got == dict(zip(listed["column_name"], listed["data_type"].str.lower(), strict=True))
        assert "time zone" in got["ts"] and wh.columns_of("no_such_table") == {}


def _validation_rows(models: list[str], status: str = "passed") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hour": pd.to_datetime([H] * len(models)).astype("datetime64[us]"),
            "model_id": models,
            "status": status,
            "n_rows": 60,
            "completeness": 1.0,
            "staleness_minutes": 0.0,
            "failed_checks": "[]",
        }
    )


def test_replace_owns_only_its_keys(empty_wh):
    with open_warehouse(empty_wh) as wh:
        wh.replace("mw_validation", _validation_rows(["a", "b"]), "hour = :h", {"h": H})
        # a partial rerun for model b replaces b only
        where = "hour = :h AND model_id IN :m"
        wh.replace(
            "mw_validation", _validation_rows(["b"], "quarantined"), where, {"h": H, "m": ["b"]}
        )
        got = wh.query("SELECT model_id, status FROM mw_validation ORDER BY model_id")
    assert got.values.tolist() == [["a", "passed"], ["b", "quarantined"]]


def test_failed_replace_leaves_the_table_as_it_was(empty_wh):
    with open_warehouse(empty_wh) as wh:
        wh.replace("mw_validation", _validation_rows(["a", "b"]), "hour = :h", {"h": H})
        bad = _validation_rows(["a", "a"])  # duplicate primary key: the insert fails
        with pytest.raises(WarehouseError):
            wh.replace("mw_validation", bad, "hour = :h", {"h": H})
        got = wh.query("SELECT model_id FROM mw_validation ORDER BY model_id")
    assert got["model_id"].tolist() == ["a", "b"]  # the delete was rolled back too


WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta
    import pandas as pd
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    path, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    spec = spec_from_uri(f"duckdb:///{path}")
    for i in range(n):
        hour = datetime(2026, 11, 1) + timedelta(hours=i)
        row = pd.DataFrame({
            "hour": pd.to_datetime([hour]).astype("datetime64[us]"), "model_id": [name],
            "status": ["passed"], "n_rows": [60], "completeness": [1.0],
            "staleness_minutes": [0.0], "failed_checks": ["[]"],
        })
        with open_warehouse(spec) as wh:  # one connection per write, as each task does
            wh.replace("mw_validation", row, "hour = :h AND model_id = :m",
                       {"h": hour, "m": name})
    print("done", name)
    """
)


def test_duckdb_writers_in_separate_processes_wait_for_the_lock(tmp_path: Path):
    """Two processes writing the same DuckDB file at once (as parallel Airflow tasks would):
    the one that finds the file locked waits and retries, and no write is lost."""
    from tests.conftest import make_warehouse

    empty_wh = make_warehouse(f"duckdb:///{tmp_path}/locked.duckdb")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    path = empty_wh.duckdb_path
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), path, name, "25"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("writer-a", "writer-b")
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for name, p, (out, err) in zip(("writer-a", "writer-b"), procs, outs, strict=True):
        assert p.returncode == 0, err
        assert f"done {name}" in out.splitlines()  # (Airflow may log above it)
    with open_warehouse(empty_wh) as wh:
        got = wh.query("SELECT model_id, COUNT(*) AS n FROM mw_validation GROUP BY 1 ORDER BY 1")
    assert got.values.tolist() == [["writer-a", 25], ["writer-b", 25]]


READER = textwrap.dedent(
    """
    import sys
    from modelwatch.warehouse import WarehouseError
    from modelwatch.warehouse.duckdb_backend import DuckDBWarehouse

    try:
        wh = DuckDBWarehouse(sys.argv[1], lock_timeout_s=0.3)
    except WarehouseError as exc:
        print("locked" if "stayed locked" in str(exc) else f"error {exc}")
    else:
        n = wh.query("SELECT COUNT(*) AS n FROM mw_validation")["n"].iloc[0]
        print(f"rows {n}")
    """
)


def read_in_another_process(path: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", READER, path], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_a_held_duckdb_file_keeps_every_write_and_is_locked_only_while_held(tmp_path: Path):
    """`held_open` (a local run's hour, a what-if replay) keeps one connection open while the
    steps open and close their own: their writes must all reach the file when it ends, and
    other processes wait for the file only meanwhile."""
    from tests.conftest import make_warehouse

    spec = make_warehouse(f"duckdb:///{tmp_path}/held.duckdb")
    row = {"h": datetime(2026, 1, 1), "m": "m-1"}
    insert = (
        "INSERT INTO mw_validation (hour, model_id, status, n_rows, failed_checks) "
        "VALUES (:h, :m, 'passed', 60, '[]')"
    )
    with held_open(spec):
        for step in range(3):  # each step its own connection, as run_hour's steps do
            with open_warehouse(spec) as wh:
                wh.execute(insert, {**row, "m": f"m-{step}"})
        assert read_in_another_process(spec.duckdb_path) == "locked"
    assert read_in_another_process(spec.duckdb_path) == "rows 3"


def test_a_shadow_run_releases_the_duckdb_file_between_hours(tmp_path: Path, fleet, monkeypatch):
    """A what-if shadow replays many hours; holding the file for all of them would make the
    DAG's tasks on the same DuckDB file wait out the whole run (and fail at their deadline).
    After each hour, another process can open the file."""
    from modelwatch.config import Settings
    from modelwatch.pipeline import whatif
    from modelwatch.sim.fleet import DEMO_DAY
    from tests.conftest import make_warehouse

    spec = make_warehouse(f"duckdb:///{tmp_path}/shadowed.duckdb", fleet)
    seen: list[str] = []
    real = whatif.run_hour

    def hour_then_look(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(read_in_another_process(spec.duckdb_path).split()[0])
        return out

    monkeypatch.setattr(whatif, "run_hour", hour_then_look)
    first = DEMO_DAY + timedelta(hours=8)
    got = whatif.run_shadow(
        spec,
        Settings(),
        "between",
        first,
        first + timedelta(hours=2),
        models=["model-000"],
        progress=False,
    )
    assert got["hours_run"] == 2 and seen == ["rows", "rows"]


def test_a_replay_of_the_warehouse_releases_the_duckdb_file_between_reads(
    tmp_path: Path, fleet, monkeypatch
):
    """`modelwatch replay --warehouse` over days of history must not hold the production
    DuckDB file for its whole run: the hourly DAG's tasks on it would wait out the replay."""
    from modelwatch.pipeline import replay
    from modelwatch.sim.fleet import DEMO_DAY
    from tests.conftest import make_warehouse

    spec = make_warehouse(f"duckdb:///{tmp_path}/replayed.duckdb", fleet)
    seen: list[str] = []
    real = replay.run_hour

    def looking(run, *args, **kwargs):
        seen.append(read_in_another_process(spec.duckdb_path).split()[0])
        return real(run, *args, **kwargs)

    monkeypatch.setattr(replay, "run_hour", looking)
    first = DEMO_DAY + timedelta(hours=8)
    rows, scores, _ = replay.replay_warehouse(
        f"duckdb:///{spec.duckdb_path}", first, first + timedelta(hours=2), models=["model-000"]
    )
    assert seen == ["rows", "rows"]
    assert len(scores) == 2 and set(rows["model_id"]) == {"model-000"}


def test_duckdb_memory_is_bounded_by_default_and_by_the_connections_extra(tmp_path: Path):
    """DuckDB's own default (80 % of the machine) let a task's buffer pool hold gigabytes of
    blocks it had read once; the connection's extra sets the bound, validated before it goes
    into SQL."""

    def limit(uri: str) -> str:
        with open_warehouse(spec_from_uri(uri)) as wh:
            got = wh.query("SELECT current_setting('memory_limit') AS m")["m"].iloc[0]
            with wh.bulk_load():
                pass
            again = wh.query("SELECT current_setting('memory_limit') AS m")["m"].iloc[0]
        assert again == got  # a bulk load gives the connection its own bound back
        return str(got)

    default = limit(f"duckdb:///{tmp_path}/a.duckdb")
    assert default.endswith("MiB") and 900 < float(default.split()[0]) < 1000  # 1GB
    assert limit(f"duckdb:///{tmp_path}/b.duckdb?memory_limit=3GB").startswith("2.7 GiB")
    with pytest.raises(WarehouseError, match="not a size"):
        open_warehouse(spec_from_uri(f"duckdb:///{tmp_path}/c.duckdb?memory_limit=1GB';DROP"))


def test_postgres_uri_quotes_credentials():
    from modelwatch.warehouse import WarehouseSpec

    spec = WarehouseSpec("postgres", "db", 5433, "u@x", "p:w/d", "wh", {"sslmode": "require"})
    assert spec.postgres_uri() == "postgresql://u%40x:p%3Aw%2Fd@db:5433/wh?sslmode=require"


def test_placeholders_become_positional_for_postgres():
    from modelwatch.warehouse.postgres_backend import to_positional

    sql, values = to_positional("a = :x AND b = :y AND c = :x", {"x": 1, "y": 2})
    assert sql == "a = $1 AND b = $2 AND c = $1" and values == [1, 2]
