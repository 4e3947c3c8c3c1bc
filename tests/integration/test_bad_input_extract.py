"""The bad-input catalogue through the warehouse (DuckDB and PostgreSQL): what the source table
holds is extracted as it is, and each kind of bad input ends in a clear error or a quarantine
of the model that sent it, never in a lost hour for the others.

Cases covered elsewhere: a missing column end to end in tests/test_pipeline.py
(test_a_missing_column_fails_the_hour_with_its_name_and_writes_nothing), a mapped (renamed)
table in test_column_mapping_reads_a_differently_named_table; an empty hour for one or all
models in tests/integration/test_fleet_outage.py and test_landing.py; late rows (ts outside
the hour, naive vs aware) at the gate in tests/unit/ingest/test_bad_input.py.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from modelwatch.config import Settings, SourceConfig
from modelwatch.ingest.extract import ExtractError, extract_hour
from modelwatch.ingest.validate import StructuralValidationError, validate_hour
from modelwatch.pipeline.runner import run_local
from modelwatch.sim.fleet import DEMO_DAY, Fleet
from modelwatch.warehouse import open_warehouse

HOUR = DEMO_DAY + timedelta(hours=10)
S = Settings()
BAD = "model-008"


def gate(spec, settings: Settings = S, models: list[str] | None = None):
    with open_warehouse(spec) as wh:
        ex = extract_hour(wh, settings, HOUR, models, with_history=False)
    return ex, validate_hour(ex.rows, HOUR, ex.expected, settings.validation)


def checks(report, model: str) -> dict[str, int]:
    v = report.verdicts.set_index("model_id")
    return {c["check"]: c["unexpected"] for c in json.loads(v.loc[model, "failed_checks"])}


def set_value(spec, column: str, sql_value: str, minute: int = 7) -> None:
    with open_warehouse(spec) as wh:
        wh.execute(
            f"UPDATE model_metrics SET {column} = {sql_value} WHERE model_id = :m AND ts = :t",
            {"m": BAD, "t": HOUR + timedelta(minutes=minute)},
        )


def drop_ts_index(spec) -> None:
    with open_warehouse(spec) as wh:
        wh.execute("DROP INDEX IF EXISTS model_metrics_ts")  # DuckDB alters no indexed table


VALUES = {
    # NaN reads back as a missing value: the "not null" rule's finding
    "nan": ("latency_p99_ms", "CAST('NaN' AS DOUBLE PRECISION)", {"latency_p99_ms not null": 1}),
    "plus_inf": (
        "latency_p99_ms",
        "CAST('Infinity' AS DOUBLE PRECISION)",
        {"latency_p99_ms finite": 1},
    ),
    "minus_inf": (
        "prediction_mean",
        "CAST('-Infinity' AS DOUBLE PRECISION)",
        {"prediction_mean finite": 1},
    ),
    "null": ("cpu_util", "NULL", {"cpu_util not null": 1}),
    "negative_latency": ("latency_p50_ms", "-3.0", {"latency_p50_ms >= 0": 1}),
    "negative_rate": ("request_rate", "-1.0", {"request_rate >= 0": 1}),
    "error_rate_above_1": ("error_rate", "1.01", {"error_rate <= 1": 1}),
    "p50_above_p99": (
        "latency_p50_ms",
        "latency_p99_ms + 5",
        {"latency_p50_ms <= latency_p95_ms": 1},
    ),
    "1e300_bounded": ("memory_util", "1e300", {"memory_util <= 1": 1}),
}


@pytest.mark.parametrize("case", list(VALUES), ids=list(VALUES))
def test_a_bad_value_in_the_warehouse_quarantines_only_its_model(seeded, case: str) -> None:
    column, sql_value, expected = VALUES[case]
    set_value(seeded, column, sql_value)
    ex, report = gate(seeded)
    assert len(ex.rows) == 600  # extracted as it is: nothing filtered out on the way
    assert report.quarantined == [BAD]
    assert len(report.passed) == 9
    assert checks(report, BAD) == expected


def test_a_duplicate_row_in_the_warehouse_quarantines_its_model(seeded, fleet: Fleet) -> None:
    m = fleet.metrics
    dup = m[(m["model_id"] == BAD) & (m["ts"] == HOUR + timedelta(minutes=3))]
    with open_warehouse(seeded) as wh:
        wh.insert("model_metrics", dup)
    _, report = gate(seeded)
    assert report.quarantined == [BAD] and len(report.passed) == 9
    assert checks(report, BAD) == {"(model_id, ts) unique": 2}


def test_strings_in_a_numeric_column_quarantine_only_their_model(new_warehouse, fleet) -> None:
    """A source whose metric column is text: numbers in it are read, the rest quarantines."""
    spec = new_warehouse(fleet)
    with open_warehouse(spec) as wh:
        wh.execute(
            "CREATE TABLE metrics_text AS SELECT model_id, ts, request_rate, latency_p50_ms, "
            "latency_p95_ms, latency_p99_ms, CAST(error_rate AS VARCHAR) AS error_rate, "
            "cpu_util, memory_util, replicas, prediction_mean, model_version "
            "FROM model_metrics WHERE ts >= :s AND ts < :e",
            {"s": HOUR - timedelta(hours=1), "e": HOUR + timedelta(hours=1)},
        )
        wh.execute(
            "UPDATE metrics_text SET error_rate = 'n/a' WHERE model_id = :m AND ts = :t",
            {"m": BAD, "t": HOUR + timedelta(minutes=9)},
        )
    _, report = gate(spec, Settings(source=SourceConfig(table="metrics_text")))
    assert report.quarantined == [BAD] and len(report.passed) == 9
    assert checks(report, BAD) == {"error_rate is a number": 1}


def test_an_extra_column_in_the_source_is_ignored(seeded) -> None:
    drop_ts_index(seeded)
    with open_warehouse(seeded) as wh:
        wh.execute("ALTER TABLE model_metrics ADD COLUMN region VARCHAR")
    ex, report = gate(seeded)
    assert "region" not in ex.rows.columns
    assert len(report.passed) == 10


def test_a_renamed_key_column_is_a_clear_error_naming_the_setting(seeded) -> None:
    drop_ts_index(seeded)
    with open_warehouse(seeded) as wh:
        wh.execute("ALTER TABLE model_metrics RENAME COLUMN model_id TO service")
    with pytest.raises(ExtractError, match=r"no column 'model_id'.*source\.columns"):
        gate(seeded)


def test_a_renamed_metric_column_fails_the_hour_naming_it_and_writes_nothing(seeded) -> None:
    drop_ts_index(seeded)
    with open_warehouse(seeded) as wh:
        wh.execute("ALTER TABLE model_metrics RENAME COLUMN latency_p99_ms TO p99")
    with pytest.raises(StructuralValidationError, match=r"missing: latency_p99_ms"):
        run_local(HOUR, seeded, S)
    with open_warehouse(seeded) as wh:
        assert wh.query("SELECT COUNT(*) AS n FROM mw_validation")["n"].iloc[0] == 0


STRANGE = ["模型-ñ-🚀", "'; DROP TABLE x; --", "../../etc", "<script>x</script>"]
LONG = "m" * 10_000


def add_models(spec, fleet: Fleet, ids: list[str]) -> int:
    """Copies of model-008's whole history under other ids; returns the rows added."""
    m = fleet.metrics
    added = 0
    with open_warehouse(spec) as wh:
        for odd in ids:
            copy = m[m["model_id"] == BAD].copy()
            copy["model_id"] = odd
            added += wh.insert("model_metrics", copy)
    return added


def test_strange_model_ids_are_data_end_to_end(seeded, fleet: Fleet) -> None:
    added = add_models(seeded, fleet, STRANGE)
    summary = run_local(HOUR, seeded, S)
    with open_warehouse(seeded) as wh:
        v = wh.query("SELECT model_id, status FROM mw_validation WHERE hour = :h", {"h": HOUR})
        scores = wh.query("SELECT model_id, status FROM mw_scores WHERE hour = :h", {"h": HOUR})
        tables = wh.query("SELECT COUNT(*) AS n FROM model_metrics")["n"].iloc[0]
    got = dict(zip(v["model_id"], v["status"], strict=True))
    assert all(got[odd] == "passed" for odd in STRANGE)  # each id intact, byte for byte
    scored = dict(zip(scores["model_id"], scores["status"], strict=True))
    assert all(scored[odd] == "scored" for odd in STRANGE)
    assert summary["models_scored"] == 10 + len(STRANGE)
    assert tables == len(fleet.metrics) + added  # no table was dropped or emptied


def test_a_ten_thousand_character_id_is_extracted_and_judged(seeded, fleet: Fleet) -> None:
    add_models(seeded, fleet, [LONG])
    ex, report = gate(seeded)
    assert LONG in ex.expected
    assert (ex.rows["model_id"] == LONG).sum() == 60
    assert sorted(report.passed) == sorted([*(f"model-{i:03d}" for i in range(10)), LONG])


def test_a_ten_thousand_character_id_is_scored_end_to_end(seeded, fleet: Fleet) -> None:
    add_models(seeded, fleet, [LONG])
    summary = run_local(HOUR, seeded, S)
    assert summary["models_scored"] == 11


def test_ten_thousand_model_ids_are_one_parameter_not_ten_thousand(seeded, monkeypatch) -> None:
    """A run naming 10,000 models: extract reads them through one parameter, so its SQL text
    stays small; the two real ones are extracted and the rest are judged no_data."""
    from modelwatch.ingest import extract
    from modelwatch.warehouse.base import expand_params

    ids = [f"ghost-{i:05d}" for i in range(9_998)] + ["model-001", "model-002"]
    seen: list[tuple[str, int]] = []
    real_open = extract.read_metrics

    def spy(wh, *args, **kwargs):
        query = wh.query

        def recording(sql, params=None):
            text, bound = expand_params(sql, params)  # what the driver is sent
            seen.append((text, len(bound)))
            return query(sql, params)

        monkeypatch.setattr(wh, "query", recording)
        return real_open(wh, *args, **kwargs)

    monkeypatch.setattr(extract, "read_metrics", spy)
    ex, report = gate(seeded, models=ids)
    assert sorted(ex.rows["model_id"].unique()) == ["model-001", "model-002"]
    assert len(ex.expected) == 10_000
    assert report.passed == ["model-001", "model-002"]
    assert len(report.no_data) == 9_998
    metrics_sql = [(sql, n) for sql, n in seen if "ORDER BY" in sql]
    assert metrics_sql and all(len(sql) < 2_000 and n <= 3 for sql, n in metrics_sql)
