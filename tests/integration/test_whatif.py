"""What-if shadows on the simulated incident day, on each backend: a shadow with production's
settings reproduces production's alerts and requests in its own tables; one with other
settings differs there and leaves production's tables as they were; reruns continue or do
nothing; shadows are listed and dropped from the shadow schemas alone."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta

import pandas as pd
import pytest

from modelwatch.config import Settings
from modelwatch.folders import Folders
from modelwatch.pipeline.runner import run_local
from modelwatch.pipeline.whatif import (
    WhatifError,
    drop_shadow,
    list_shadows,
    run_shadow,
    schema_of,
    shadow_spec,
)
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse

#: The surge (09-13) and the error burst's start: alerts, a fleet-free day, requests.
FIRST, END = DEMO_DAY + timedelta(hours=8), DEMO_DAY + timedelta(hours=13)
DECISIONS = {
    "mw_scores": ["hour", "model_id"],
    "mw_alerts": ["alert_id"],
    "mw_notifications": ["notification_id"],
    "mw_remediation_requests": ["request_id"],
}


def hours(start=FIRST, end=END):
    h = start
    while h < end:
        yield h
        h += timedelta(hours=1)


def tables(spec, names=DECISIONS) -> dict[str, pd.DataFrame]:
    with open_warehouse(spec) as wh:
        return {
            t: wh.query(f"SELECT * FROM {t}").sort_values(keys).reset_index(drop=True)
            for t, keys in names.items()
        }


def production_hashes(spec) -> dict[str, str]:
    """A digest of every table of production's schema (and the list of them)."""
    with open_warehouse(spec) as wh:
        home = str(wh.query("SELECT current_schema() AS s")["s"].iloc[0])
        out = {"__tables__": ",".join(wh.schema_tables(home))}
        for t in wh.schema_tables(home):
            frame = wh.query(f'SELECT * FROM "{t}"')
            frame = frame.sort_values(list(frame.columns)).reset_index(drop=True)
            out[t] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return out


def test_a_shadow_with_productions_settings_reproduces_its_alerts_and_requests(seeded):
    settings = Settings()
    for h in hours():
        run_local(h, seeded, settings, dispatch=False)
    before = production_hashes(seeded)
    got = run_shadow(seeded, settings, "same", FIRST, END, progress=False)
    assert got["hours_run"] == 5
    assert production_hashes(seeded) == before

    prod, shadow = tables(seeded), tables(shadow_spec(seeded, "same"))
    assert len(prod["mw_alerts"]) and len(prod["mw_remediation_requests"])
    for t in DECISIONS:
        pd.testing.assert_frame_equal(prod[t], shadow[t], check_dtype=False, obj=t)
    # the trail: the surge's scale-up names the alert it answers
    reqs = shadow["mw_remediation_requests"]
    surge = reqs[(reqs.model_id == "model-000") & (reqs.status == "proposed")]
    assert surge["alert_id"].str.startswith("model-000:anomaly:").all()


def test_another_threshold_changes_the_shadows_scores_only(seeded):
    settings = Settings()
    for h in hours(FIRST, FIRST + timedelta(hours=2)):
        run_local(h, seeded, settings, dispatch=False)
    before = production_hashes(seeded)
    touchy = Settings.model_validate({"detection": {"threshold": 0.3}})
    run_shadow(seeded, touchy, "touchy", FIRST, END, progress=False)
    assert production_hashes(seeded) == before

    shadow = tables(shadow_spec(seeded, "touchy"))["mw_scores"]
    assert set(shadow["threshold"]) == {0.3}
    with open_warehouse(seeded) as wh:
        prod = wh.query("SELECT * FROM mw_scores")
    assert set(prod["threshold"]) == {0.95} and len(prod) == 20
    paired = prod.merge(shadow, on=["hour", "model_id"], suffixes=("_p", "_s"))
    assert len(paired) == 20  # the hours both ran
    assert (~paired["is_anomaly_p"] & paired["is_anomaly_s"]).any()


def test_reruns_continue_and_a_finished_shadow_is_left_alone(seeded):
    settings = Settings()
    mid = FIRST + timedelta(hours=2)
    run_shadow(seeded, settings, "resume", FIRST, END, progress=False, timings=None)
    done = tables(shadow_spec(seeded, "resume"))
    again = run_shadow(seeded, settings, "resume", FIRST, END, progress=False)
    assert again["hours_run"] == 0
    for t, frame in tables(shadow_spec(seeded, "resume")).items():
        pd.testing.assert_frame_equal(frame, done[t], obj=t)

    # stopped after two hours, then continued: the same rows as in one go
    run_shadow(seeded, settings, "halves", FIRST, END, progress=False, now=None)
    with open_warehouse(shadow_spec(seeded, "halves")) as wh:
        wh.execute("UPDATE mw_whatif SET done_hour = :h", {"h": mid - timedelta(hours=1)})
    assert run_shadow(seeded, settings, "halves", FIRST, END, progress=False)["hours_run"] == 3
    for t, frame in tables(shadow_spec(seeded, "halves")).items():
        pd.testing.assert_frame_equal(frame, done[t], check_dtype=False, obj=t)

    with pytest.raises(WhatifError, match="other settings"):
        strict = Settings.model_validate({"detection": {"threshold": 0.99}})
        run_shadow(seeded, strict, "resume", FIRST, END, progress=False)


def test_shadows_are_listed_and_dropped_from_their_own_schemas(seeded):
    settings = Settings()
    end = FIRST + timedelta(hours=1)
    before = production_hashes(seeded)
    run_shadow(seeded, settings, "one", FIRST, end, progress=False)
    run_shadow(seeded, settings, "two", FIRST, end, models=["model-000"], progress=False)
    assert production_hashes(seeded) == before  # no list of shadows in production
    listed = {s.name: s for s in list_shadows(seeded)}
    assert sorted(listed) == ["one", "two"]
    assert listed["two"].models == ("model-000",) and listed["one"].hours_done == 1

    assert drop_shadow(seeded, settings, "one")
    assert [s.name for s in list_shadows(seeded)] == ["two"]
    assert not drop_shadow(seeded, settings, "one")
    with open_warehouse(seeded) as wh:
        assert wh.schema_tables(schema_of("one")) == []
    with pytest.raises(WhatifError, match="lower-case"):
        schema_of("x; DROP TABLE mw_alerts")


def uri_of(spec) -> str:
    if spec.conn_type == "duckdb":
        return f"duckdb:///{spec.duckdb_path}"
    return spec.postgres_uri()


def test_evaluate_compare_shows_what_a_stricter_rule_pages_later_or_never(seeded, tmp_path, capsys):
    from modelwatch.cli.main import main
    from modelwatch.evaluation.episodes import compare, judge, load_run

    settings = Settings()
    for h in hours():
        run_local(h, seeded, settings, dispatch=False)
    strict = Settings.model_validate(
        {"alerts": {"anomaly": {"n": 3, "m": 3}, "critical_score": 1.0}}
    )
    run_shadow(seeded, strict, "strict", FIRST, END, progress=False)

    with open_warehouse(seeded) as wh:
        prod = judge(load_run(wh, "production"))
    with open_warehouse(shadow_spec(seeded, "strict")) as wh:
        cand = judge(load_run(wh, "strict"))
    assert prod.summary["incidents"] == cand.summary["incidents"] > 0
    assert prod.summary["incidents_paged"] > 0
    diffs = compare(prod, cand)
    assert len(diffs), "a stricter rule must page some incident later or not at all"
    assert diffs["outcome"].str.contains("later by strict|not paged by strict").all()

    html = tmp_path / "episodes.html"
    argv = ["evaluate", "--warehouse", uri_of(seeded), "--production", "--compare", "strict"]
    assert main([*argv, "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "incidents whose outcome differs" in out
    for outcome in diffs["outcome"]:
        assert outcome in out
    assert html.is_file() and "<img" in html.read_text()
    assert list((tmp_path / "episodes_plots").glob("incident-*.png"))


def test_drop_touches_nothing_that_is_not_a_recorded_shadow(seeded, capsys):
    """A schema that merely carries the shadow prefix, and a name no shadow has, are not
    dropped: the command exits non-zero, says so, and the schema, its table and the files
    under the name's folders are still there."""
    from modelwatch.cli.main import main

    settings = Settings()
    with open_warehouse(seeded) as wh:
        wh.execute("CREATE SCHEMA whatif_ledger")
        wh.execute("CREATE TABLE whatif_ledger.payments (id INTEGER)")
        wh.execute("INSERT INTO whatif_ledger.payments VALUES (1)")
    folder = Folders.from_env(settings).for_shadow("ledger").staging
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "keep.txt").write_text("mine")
    try:
        for name in ("ledger", "nothing"):
            assert main(["whatif", "--warehouse", uri_of(seeded), "--drop", name]) == 1
            assert capsys.readouterr().out.strip() == f"no shadow named {name}"
        assert not drop_shadow(seeded, settings, "ledger")
        with open_warehouse(seeded) as wh:
            assert wh.query("SELECT id FROM whatif_ledger.payments")["id"].tolist() == [1]
        assert (folder / "keep.txt").read_text() == "mine"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_window_outside_the_data_is_refused_before_anything_is_made(seeded):
    """A typo'd year is refused against the data's range, before the shadow's schema or
    record exists (it used to build the list of every hour, claim the record, and die)."""
    settings = Settings()
    for start, end in (
        (datetime(1970, 1, 1), datetime(8999, 1, 1)),
        (FIRST, datetime(8999, 1, 1)),
        (datetime(1970, 1, 1), END),
    ):
        with pytest.raises(WhatifError, match=r"outside the data \(model_metrics holds 2026-"):
            run_shadow(seeded, settings, "huge", start, end, progress=False)
    with open_warehouse(seeded) as wh:
        assert wh.schema_tables(schema_of("huge")) == []
    assert list_shadows(seeded) == []
