"""Sources whose time columns are zone-aware (`timestamptz`) give the results naive ones give.

PostgreSQL's usual type for event times is `timestamptz` (DuckDB's `TIMESTAMPTZ`); both come
back zone-aware. Each input edge turns them into naive UTC once, so every stage downstream sees
the warehouse's convention. On PostgreSQL the database's time zone is set to New York: a
session that compared our naive hours with `timestamptz` columns in that zone would shift
every window by five hours.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.cli.main import main as cli
from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.sim.fleet import DEMO_DAY, FleetSpec, simulate_fleet
from modelwatch.sim.seed import seed
from modelwatch.sim.story import StorySpec, tell_story
from modelwatch.warehouse import WarehouseSpec, open_warehouse

#: Every time column of the input tables (the story's and the predictions' included).
TIME_COLUMNS = {
    "model_metrics": ("ts",),
    "model_predictions": ("ts",),
    "model_logs": ("ts",),
    "model_changes": ("ts",),
    "incidents": ("start", "end"),
    "incident_causes": ("start",),
}
#: Indexes the seed creates on those columns (DuckDB alters no indexed column).
INDEXES = {
    "model_metrics_ts": "model_metrics (ts, model_id)",
    "model_predictions_ts": "model_predictions (ts)",
    "model_logs_ts": "model_logs (ts)",
}
#: The error burst's hour (its alert has log, change and deploy hints) and drift hours.
HOURS = [DEMO_DAY + timedelta(hours=h) for h in (8, 9, 10, 17)]
STORY_FLEET = FleetSpec(n_models=10, days=9, predictions=240)


def to_timestamptz(spec: WarehouseSpec, tables: dict[str, tuple[str, ...]]) -> None:
    """Turn the given columns into zone-aware ones holding the same instants."""
    with open_warehouse(spec) as wh:
        for name in INDEXES:
            wh.execute(f"DROP INDEX IF EXISTS {name}")
        for table, columns in tables.items():
            if not wh.table_exists(table):
                continue
            for col in columns:
                if wh.dialect == "postgres":
                    wh.execute(
                        f'ALTER TABLE {table} ALTER COLUMN "{col}" TYPE timestamptz '
                        f"USING \"{col}\" AT TIME ZONE 'UTC'"
                    )
                else:  # the backend's session is UTC: the naive values are read as UTC
                    wh.execute(f'ALTER TABLE {table} ALTER "{col}" TYPE TIMESTAMPTZ')
        for name, on in INDEXES.items():
            if wh.table_exists(on.split(" ")[0]):
                wh.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")
        got = wh.query(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'model_metrics' AND column_name = 'ts'"
        )
    assert "zone" in str(got["data_type"].iloc[0]).lower()  # the conversion took


def in_new_york(spec: WarehouseSpec) -> None:
    """Sessions of this PostgreSQL database start in New York time (DuckDB: nothing to do)."""
    if spec.conn_type == "duckdb":
        return
    with open_warehouse(spec) as wh:
        wh.execute(f"ALTER DATABASE \"{spec.schema}\" SET timezone = 'America/New_York'")


def query(spec: WarehouseSpec, sql: str) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query(sql)


def test_modelwatch_run_reads_a_timestamptz_metrics_table(new_warehouse, fleet, tmp_path) -> None:
    """`modelwatch run` on a source whose `ts` is `timestamptz` scores the hour exactly as on
    the same rows with a naive `ts`."""
    hour = DEMO_DAY + timedelta(hours=10)
    scores = []
    for aware in (False, True):
        spec = new_warehouse(fleet)
        if aware:
            in_new_york(spec)
            to_timestamptz(spec, {"model_metrics": ("ts",)})
        uri = f"duckdb:///{spec.duckdb_path}" if spec.conn_type == "duckdb" else spec.postgres_uri()
        staging = tmp_path / f"staging-{aware}"
        config = tmp_path / f"c-{aware}.yaml"
        config.write_text(f"staging_dir: {staging}\n")
        args = ["--config", str(config), "run", "--warehouse", uri]
        assert cli([*args, "--hour", f"{hour:%Y-%m-%dT%H}:00Z"]) == 0
        scores.append(query(spec, "SELECT * FROM mw_scores ORDER BY model_id"))
    assert len(scores[0]) == 10 and scores[0]["status"].eq("scored").all()
    pd.testing.assert_frame_equal(scores[1], scores[0])


@pytest.fixture(scope="module")
def story_fleet():
    fleet = simulate_fleet(STORY_FLEET)
    return fleet, tell_story(fleet, STORY_FLEET, StorySpec(lines_per_hour=15.0, log_days=4))


def outcome(spec: WarehouseSpec) -> dict[str, pd.DataFrame]:
    """What the runs produced, in a comparable order."""
    return {
        "scores": query(spec, "SELECT * FROM mw_scores ORDER BY hour, model_id"),
        "drift": query(spec, "SELECT * FROM mw_drift ORDER BY hour, model_id, feature, test"),
        "log_hours": query(
            spec, "SELECT hour, lines, matched, unmatched, skipped FROM mw_log_hours ORDER BY hour"
        ),
        "log_counts": query(
            spec,
            "SELECT hour, model_id, template, level, SUM(n) AS n FROM mw_log_counts "
            "GROUP BY hour, model_id, template, level ORDER BY hour, model_id, template, level",
        ),
        "hint_kinds": query(
            spec, "SELECT DISTINCT alert_id, kind FROM mw_hints ORDER BY alert_id, kind"
        ),
        "alerts": query(
            spec,
            "SELECT alert_id, status, severity, opened_hour, last_signal_hour, resolved_hour "
            "FROM mw_alerts ORDER BY alert_id",
        ),
    }


def test_a_warehouse_of_timestamptz_columns_gives_the_same_results(
    new_warehouse, story_fleet, tmp_path
) -> None:
    """Every time column of every input zone-aware: the same scores, drift findings, log
    counts (mined, not skipped), hint kinds per alert and alert states as naive columns."""
    fleet, story = story_fleet
    results = []
    for aware in (False, True):
        spec = new_warehouse()
        with open_warehouse(spec) as wh:
            seed(wh, fleet, story)
        if aware:
            in_new_york(spec)
            to_timestamptz(spec, TIME_COLUMNS)
        settings = Settings(staging_dir=str(tmp_path / f"staging-{aware}"))
        for hour in HOURS:
            run_local(hour, spec, settings)
        results.append(outcome(spec))
    naive, aware = results
    # the comparison means something: the naive run mined logs, hinted and alerted
    assert naive["log_hours"]["lines"].gt(0).all() and naive["log_hours"]["skipped"].eq(0).all()
    assert {"log_signature", "deploy"} <= set(naive["hint_kinds"]["kind"])
    assert naive["alerts"]["alert_id"].str.contains(":drift:").any()
    assert naive["drift"]["drifted"].astype(bool).any()
    for name, frame in naive.items():
        pd.testing.assert_frame_equal(aware[name], frame, obj=name)
