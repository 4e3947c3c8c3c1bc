"""The hourly pipeline's steps, run without Airflow on the simulated incident day, on each
warehouse backend (DuckDB and PostgreSQL).

These pin the behaviour the DAG relies on: what gets quarantined, detected, alerted and
proposed, and that reruns (whole, partial, out of order) leave every output table identical.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.config import Settings, SourceConfig
from modelwatch.folders import STAGING_ENV
from modelwatch.ingest.extract import ExtractError, extract_hour
from modelwatch.ingest.validate import StructuralValidationError
from modelwatch.pipeline import steps
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run

OUTPUT_TABLES = {
    "mw_runs": ["hour"],
    "mw_validation": ["hour", "model_id"],
    "mw_scores": ["hour", "model_id"],
    "mw_alerts": ["alert_id"],
    "mw_notifications": ["notification_id"],
    "mw_remediation_requests": ["request_id"],
}
HEALTHY = ["model-007", "model-008", "model-009"]


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


def snapshot(spec) -> dict[str, pd.DataFrame]:
    with open_warehouse(spec) as wh:
        return {
            t: wh.query(f"SELECT * FROM {t}").sort_values(keys).reset_index(drop=True)
            for t, keys in OUTPUT_TABLES.items()
        }


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for table in OUTPUT_TABLES:
        pd.testing.assert_frame_equal(a[table], b[table], check_dtype=False, obj=table)


def query(spec, sql, **params) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query(sql, params)


def test_surge_is_detected_alerted_and_gets_one_scale_up(seeded, settings):
    for h in range(8, 12):  # the surge starts at 09; 10 and 11 are inside the cooldown
        run_local(at(h), seeded, settings)
    scores = query(seeded, "SELECT * FROM mw_scores")
    surge = scores[scores.model_id == "model-000"].set_index("hour")
    assert surge.loc[at(8), "is_anomaly"] == False  # noqa: E712 (numpy bool)
    assert all(surge.loc[at(h), "is_anomaly"] for h in range(9, 12))
    top = surge.loc[at(10), "top_metrics"].split(",")
    assert {"latency_p99_ms", "cpu_util", "request_rate", "error_rate"} & set(top)

    # healthy models may have a stray anomalous hour, but it must not page anyone
    healthy = scores[scores.model_id.isin(HEALTHY)]
    assert healthy["is_anomaly"].sum() <= 1

    alerts = query(seeded, "SELECT * FROM mw_alerts WHERE kind = 'anomaly'")
    assert alerts["model_id"].tolist().count("model-000") == 1
    assert not alerts["model_id"].isin(HEALTHY).any()

    reqs = query(seeded, "SELECT * FROM mw_remediation_requests WHERE action = 'scale_up'")
    active = reqs[reqs.status == "proposed"]
    assert active["model_id"].tolist() == ["model-000"]
    row = active.iloc[0]
    assert row["mode"] == "dry_run" and row["to_replicas"] > row["from_replicas"]
    evidence = json.loads(row["evidence"])
    assert evidence["utilisation"] > settings.remediation.scale_up.target_utilisation
    # later surge hours are inside the cooldown: recorded as skipped, never a second request
    assert set(reqs[reqs.status != "proposed"]["status_reason"].str.split(":").str[0]) <= {
        "cooldown"
    }


def test_bad_data_hour_is_quarantined_and_reported(seeded, settings):
    summary = run_local(at(15), seeded, settings)
    v = query(seeded, "SELECT * FROM mw_validation WHERE hour = :h", h=at(15)).set_index("model_id")
    assert v.loc["model-006", "status"] == "quarantined"
    checks = {c["check"] for c in json.loads(v.loc["model-006", "failed_checks"])}
    assert "latency_p50_ms >= 0" in checks and "(model_id, ts) unique" in checks
    assert v.loc["__fleet__", "status"] == "warning"  # the rows with a null model_id
    assert (v.drop(index=["__fleet__", "model-006"])["status"] == "passed").all()
    s = query(seeded, "SELECT * FROM mw_scores WHERE hour = :h", h=at(15)).set_index("model_id")
    assert s.loc["model-006", "status"] == "quarantined" and pd.isna(s.loc["model-006", "score"])
    assert summary["models_quarantined"] == 1
    dq = query(seeded, "SELECT * FROM mw_alerts WHERE kind = 'data_quality' ORDER BY model_id")
    # model-006's bad rows, and (issue 14) the rows with a null model id, which no model can
    # own: they used to be counted and dropped without an alert
    assert dq["model_id"].tolist() == ["__fleet__", "model-006"]
    assert "model_id not null (3)" in dq.set_index("model_id").loc["__fleet__", "summary"]


def test_quarantined_hour_never_trains_a_detector(seeded, settings):
    run_local(at(15), seeded, settings)
    with open_warehouse(seeded) as wh:  # the next day's detectors train on that day
        ex = extract_hour(wh, settings, at(24))
    hist = ex.history[ex.history.model_id == "model-006"]
    assert ((hist.ts >= at(14)) & (hist.ts < at(15))).sum() == 60  # the hour before is there
    assert not ((hist.ts >= at(15)) & (hist.ts < at(16))).any()
    assert ex.excluded_history_rows >= 50


def test_silent_outage_opens_an_outage_alert(seeded, settings):
    run_local(at(20), seeded, settings)
    v = query(seeded, "SELECT * FROM mw_validation WHERE model_id = 'model-005'")
    assert v["status"].tolist() == ["no_data"]
    alerts = query(seeded, "SELECT * FROM mw_alerts WHERE model_id = 'model-005'")
    assert alerts[["kind", "severity", "status"]].values.tolist() == [
        ["outage", "critical", "firing"]
    ]


def test_reruns_in_any_order_leave_identical_rows(seeded, settings):
    for h in range(8, 12):
        run_local(at(h), seeded, settings)
    first = snapshot(seeded)
    for h in (10, 9, 11, 9):  # again, out of order, twice
        run_local(at(h), seeded, settings)
    assert_same(first, snapshot(seeded))


def test_partial_rerun_touches_only_its_models(seeded, settings):
    for h in range(8, 11):
        run_local(at(h), seeded, settings)
    before = snapshot(seeded)
    run_local(at(9), seeded, settings, models=["model-000", "model-008"], run_id="manual__x")
    assert_same(before, snapshot(seeded))


def test_backfill_records_but_never_sends_or_acts(seeded, settings):
    mode = RunMode("backfill", notify=False, dry_run=True)
    for h in range(8, 11):
        run_local(at(h), seeded, settings, mode=mode)
    notes = query(seeded, "SELECT * FROM mw_notifications")
    assert len(notes) and (notes["state"] == "suppressed").all()
    assert notes["detail"].str.startswith("backfill").all()
    reqs = query(seeded, "SELECT * FROM mw_remediation_requests")
    assert len(reqs) and (reqs["mode"] == "backfill").all()
    assert not reqs["status"].isin(["dispatched", "applied"]).any()


def test_notifications_are_sent_once_across_reruns(seeded, settings):
    mode = RunMode("scheduled", notify=True, dry_run=True)
    for h in (9, 9, 9):
        run_local(at(h), seeded, settings, mode=mode)
    notes = query(seeded, "SELECT * FROM mw_notifications WHERE model_id = 'model-000'")
    assert notes[["event", "state", "attempts"]].values.tolist() == [["firing", "sent", 1]]


def test_a_missing_column_fails_the_hour_with_its_name_and_writes_nothing(new_warehouse, fleet):
    spec = new_warehouse(fleet)
    with open_warehouse(spec) as wh:
        wh.execute("DROP INDEX IF EXISTS model_metrics_ts")  # DuckDB alters no indexed table
        wh.execute("ALTER TABLE model_metrics DROP COLUMN error_rate")
    with pytest.raises(StructuralValidationError, match="error_rate"):
        run_local(at(9), spec, Settings())
    assert all(len(t) == 0 for t in snapshot(spec).values())


def test_column_mapping_reads_a_differently_named_table(new_warehouse, fleet):
    spec = new_warehouse(fleet)
    with open_warehouse(spec) as wh:
        wh.execute("DROP INDEX IF EXISTS model_metrics_ts")  # DuckDB alters no indexed table
        wh.execute("ALTER TABLE model_metrics RENAME COLUMN model_id TO service")
        wh.execute("ALTER TABLE model_metrics RENAME COLUMN latency_p99_ms TO p99")
        wh.execute("ALTER TABLE model_metrics RENAME TO serving_minutely")
    cfg = Settings(
        source=SourceConfig(
            table="serving_minutely", columns={"model_id": "service", "latency_p99_ms": "p99"}
        )
    )
    summary = run_local(at(10), spec, cfg)
    assert summary["models_scored"] == 10
    with open_warehouse(spec) as wh, pytest.raises(ExtractError, match="model_metrics"):
        extract_hour(wh, Settings(), at(10))


def test_models_with_too_little_history_are_reported_not_scored(new_warehouse, fleet):
    spec = new_warehouse(fleet)
    with open_warehouse(spec) as wh:  # model-009 was deployed five hours before the hour
        wh.execute(
            "DELETE FROM model_metrics WHERE model_id = 'model-009' AND ts < :t",
            {"t": at(10) - timedelta(hours=5)},
        )
    summary = run_local(at(10), spec, Settings())
    s = query(spec, "SELECT * FROM mw_scores WHERE model_id = 'model-009'")
    assert s["status"].tolist() == ["insufficient_history"] and not s["is_anomaly"].any()
    assert summary["models_insufficient_history"] == 1


def test_hours_after_the_days_first_read_no_history_and_score_the_same(
    seeded, settings, tmp_path, monkeypatch
):
    """Detectors are fitted once a day and cached; later hours must not re-read the 7-day
    history (the hourly run's largest cost at fleet scale), and must score exactly as a run
    with an empty cache, which reads and fits."""

    def extract(h: int, store: str) -> dict:
        monkeypatch.setenv(STAGING_ENV, str(tmp_path / store))
        return steps.extract(make_run(at(h), seeded, settings, run_id=f"t{h}"), {})

    assert extract(9, "warm")["history_rows"] > 0  # the day's first hour here: fits
    run_local(at(9), seeded, settings)
    assert extract(10, "warm")["history_rows"] == 0
    run_local(at(10), seeded, settings)
    warm = query(seeded, "SELECT * FROM mw_scores WHERE hour = :h ORDER BY model_id", h=at(10))
    assert extract(10, "cold")["history_rows"] > 0
    run_local(at(10), seeded, settings)
    cold = query(seeded, "SELECT * FROM mw_scores WHERE hour = :h ORDER BY model_id", h=at(10))
    pd.testing.assert_frame_equal(warm, cold)
    assert (cold["status"] == "scored").sum() >= len(cold) - 2


def test_a_detector_pruned_after_extract_is_refitted_from_the_warehouse(
    seeded, settings, tmp_path, monkeypatch
):
    """Extract skipped a model's history because its detector was cached; if the cache is
    gone by the time its shard runs (a later day's run pruned it), the shard reads that
    history itself rather than scoring the model without a detector."""
    import shutil

    monkeypatch.setenv(STAGING_ENV, str(tmp_path))
    run_local(at(9), seeded, settings)
    expected = query(seeded, "SELECT * FROM mw_scores WHERE hour = :h ORDER BY model_id", h=at(9))
    run = make_run(at(9), seeded, settings, run_id="again")
    extracted = steps.extract(run, {})
    assert extracted["history_rows"] == 0
    shards = steps.validate(run, {"extract": extracted})
    shutil.rmtree(run.detectors)
    results = [steps.detect(run, {"shard": s, "index": i}) for i, s in enumerate(shards)]
    steps.persist(run, {"detect": results})
    got = query(seeded, "SELECT * FROM mw_scores WHERE hour = :h ORDER BY model_id", h=at(9))
    pd.testing.assert_frame_equal(expected, got)


def test_training_history_written_in_parts_equals_one_read(seeded, settings, tmp_path):
    """Staging the history a few models at a time (bounded memory) loses and adds nothing."""
    from modelwatch.ingest.extract import read_training_history, write_training_history

    run_local(at(15), seeded, settings)  # quarantines model-006's 15:00 for the next day
    models = [f"model-{i:03d}" for i in range(10)]
    with open_warehouse(seeded) as wh:
        whole, out_whole = read_training_history(wh, settings, models, at(24))
        rows, out = write_training_history(
            wh, settings, models[::-1], at(24), tmp_path / "h.parquet", models_per_read=3
        )
    parts = pd.read_parquet(tmp_path / "h.parquet")
    assert (rows, out) == (len(whole), out_whole) and out > 0
    pd.testing.assert_frame_equal(parts, whole.reset_index(drop=True), check_dtype=False)
