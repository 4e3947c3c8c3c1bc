"""Noise control: severity, routing, silences, maintenance windows, inhibition, fleet incidents,
and the delivery ledger's retries and attempt log. Pure functions and a throwaway warehouse."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
import pytest

from modelwatch.alerting import routing
from modelwatch.alerting.delivery import (
    ATTEMPT_COLUMNS,
    FAILED,
    NOTIFICATION_COLUMNS,
    SENT,
    SUPPRESSED,
    Delivery,
    RetryPolicy,
    deliver_all,
    event_key,
)
from modelwatch.alerting.lifecycle import (
    ANOMALY,
    DATA_QUALITY,
    FIRING,
    FLEET,
    FLEET_ID,
    OUTAGE,
    RESOLVED,
    AlertEvent,
    Episode,
    build_episodes,
    events_at,
    fleet_signals,
    opening_severity,
    severity,
    summarise,
)
from modelwatch.alerting.silence_table import (
    add_silence,
    expire_silence,
    list_silences,
    load_silences,
)
from modelwatch.alerting.silences import Silence, parse_duration, parse_matchers, window_covers
from modelwatch.config import (
    AlertsConfig,
    ChannelConfig,
    FleetIncidentConfig,
    InhibitRule,
    MaintenanceWindow,
    RouteConfig,
    Settings,
)
from modelwatch.run import HOUR
from modelwatch.warehouse import open_warehouse

T0 = datetime(2026, 11, 1)  # a Sunday
CFG = AlertsConfig()
LATENCY = json.dumps(
    [{"metric": "latency_p99_ms", "observed": 900, "baseline": 100, "robust_z": 9}]
)
MEMORY = json.dumps([{"metric": "memory_util", "observed": 0.9, "baseline": 0.5, "robust_z": 7}])


def at(i: int) -> datetime:
    return T0 + i * HOUR


def ep(kind: str, opened: int, last: int, peak: float | None = 0.97, model: str = "m1", **kw):
    resolved = kw.get("resolved")
    return Episode(
        model,
        kind,
        at(opened),
        at(last),
        None if resolved is None else at(resolved),
        peak,
        kw.get("detail", LATENCY),
        kw.get("opening", peak),
    )


def event(e: Episode, hour: int, ev: str = FIRING) -> AlertEvent:
    (got,) = [x for x in events_at([e], at(hour), CFG) if x.event == ev]
    return got


# -------------------------------------------------------------------------------------- severity
def test_severity_escalates_with_persistence_and_tier() -> None:
    short = ep(ANOMALY, 1, 2, peak=0.97)
    assert severity(short, CFG) == "warning"
    assert severity(short, CFG, tier="critical") == "warning"  # below tier_critical_score
    high = ep(ANOMALY, 1, 2, peak=0.985)
    assert severity(high, CFG, tier="standard") == "warning"
    assert severity(high, CFG, tier="critical") == "critical"
    persistent = ep(ANOMALY, 1, 1 + CFG.escalate_after_hours - 1, peak=0.96)
    assert severity(persistent, CFG) == "critical"
    assert severity(ep(ANOMALY, 1, CFG.escalate_after_hours - 1, peak=0.96), CFG) == "warning"
    assert severity(ep(FLEET, 1, 1, peak=0.5), CFG) == "critical"


def test_opening_severity_is_stable_while_the_episode_escalates() -> None:
    grown = ep(ANOMALY, 1, 12, peak=0.9995, opening=0.96)
    assert severity(grown, CFG) == "critical"
    assert opening_severity(grown, CFG) == "warning"
    (e,) = events_at([grown], at(5), CFG)
    assert (e.severity, e.label_severity) == ("critical", "warning")


# ------------------------------------------------------------------------------------- fleet
def counts(rows: Sequence[tuple[int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "hour": at(h),
                "scored": s,
                "anomalous": a,
                "models": ",".join(f"m{i}" for i in range(a)),
            }
            for h, s, a in rows
        ]
    )


def test_fleet_signal_needs_both_the_share_and_the_count() -> None:
    cfg = AlertsConfig(fleet=FleetIncidentConfig(min_share=0.3, min_models=5))
    sigs = fleet_signals(counts([(1, 20, 6), (2, 20, 5), (3, 10, 4), (4, 100, 29), (5, 0, 0)]), cfg)
    assert [(s.hour, s.model_id, s.kind) for s in sigs] == [(at(1), FLEET_ID, FLEET)]
    assert json.loads(sigs[0].detail)["models"] == [f"m{i}" for i in range(6)]
    (incident,) = build_episodes(sigs, at(0), at(6), cfg)
    assert (incident.opened_hour, incident.resolved_hour) == (at(1), at(3))
    assert summarise(incident).startswith("fleet incident: 6 of 20 scored models anomalous")


def test_fleet_incident_groups_the_models_anomaly_pages() -> None:
    fleet = Episode(FLEET_ID, FLEET, at(3), at(3), None, 0.5, json.dumps({"models": ["m1", "m2"]}))
    mine = ep(ANOMALY, 3, 3)
    other = ep(ANOMALY, 3, 3, model="m9")
    assert routing.suppression(event(mine, 3), {}, [fleet, mine], [], CFG) == (
        f"grouped into fleet incident {fleet.alert_id}"
    )
    assert routing.suppression(event(other, 3), {}, [fleet, other], [], CFG) is None
    outage = ep(OUTAGE, 3, 3, peak=None, model="m1")
    assert routing.suppression(event(outage, 3), {}, [fleet, outage], [], CFG) is None


# ---------------------------------------------------------------------------------- inhibition
def test_outage_or_data_quality_inhibits_the_same_models_latency_alert() -> None:
    latency = ep(ANOMALY, 2, 4)
    memory = ep(ANOMALY, 2, 4, detail=MEMORY)
    for source in (OUTAGE, DATA_QUALITY):
        src = ep(source, 2, 2, peak=None, resolved=3)
        reason = routing.suppression(event(latency, 2), {}, [src, latency], [], CFG)
        assert reason == f"inhibited by {src.alert_id}"
        # not another metric's anomaly, nor once the source alert is over
        assert routing.suppression(event(memory, 2), {}, [src, memory], [], CFG) is None
        assert (
            routing.suppression(
                _at(latency, 6),
                {},
                [src, latency],
                [],
                CFG,
            )
            is None
        )
    other_model = ep(OUTAGE, 2, 2, peak=None, model="m2")
    assert routing.suppression(event(latency, 2), {}, [other_model, latency], [], CFG) is None
    no_rules = AlertsConfig(inhibit=())
    src = ep(OUTAGE, 2, 2, peak=None)
    assert routing.suppression(event(latency, 2), {}, [src, latency], [], no_rules) is None
    any_metric = AlertsConfig(inhibit=(InhibitRule(target_metrics=()),))
    assert routing.suppression(event(memory, 2), {}, [src, memory], [], any_metric) is not None


def _at(e: Episode, hour: int) -> AlertEvent:
    return AlertEvent(
        e.alert_id, e.model_id, e.kind, "repeated", "warning", at(hour), "", detail=e.detail
    )


# ------------------------------------------------------------------------- silences and windows
def test_silence_covers_overlapping_hours_of_matching_labels_only() -> None:
    s = Silence("s1", {"team": "ads"}, at(2) + timedelta(minutes=30), at(4), "alice", "deploy")
    ads = {"team": "ads", "model_id": "m1"}
    assert [h for h in range(7) if s.covers(at(h), ads)] == [2, 3]
    assert not s.covers(at(3), {"team": "risk"})
    e = event(ep(ANOMALY, 3, 3), 3)
    assert routing.suppression(e, ads, [], [s], CFG) == "silenced by s1 (alice: deploy)"


def test_maintenance_windows_recur_weekly_and_cross_midnight() -> None:
    sunday_night = MaintenanceWindow(name="n", weekdays=("sun",), start="23:00", duration_hours=3)
    covered = [h for h in range(0, 24 * 8) if window_covers(sunday_night, at(h))]
    # T0 is Sunday 2026-11-01: 23:00, then Monday 00:00 and 01:00; next Sunday again.
    assert covered == [23, 24, 25, 23 + 168]
    daily = MaintenanceWindow(name="d", start="02:00", duration_hours=1, match={"tier": "standard"})
    assert [h for h in range(48) if window_covers(daily, at(h))] == [2, 26]
    cfg = AlertsConfig(maintenance=(daily,))
    e = event(ep(ANOMALY, 2, 2), 2)
    assert routing.suppression(e, {"tier": "standard"}, [], [], cfg) == "maintenance window d"
    assert routing.suppression(e, {"tier": "critical"}, [], [], cfg) is None


def test_silence_store_add_list_expire(tmp_path) -> None:
    from tests.conftest import make_warehouse

    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    now = at(10)
    with open_warehouse(spec) as wh:
        sid = add_silence(
            wh, {"model_id": "m1"}, now, now + parse_duration("4h"), "alice", "retrain", now
        )
        assert [s.silence_id for s in load_silences(wh, at(11), at(12))] == [sid]
        assert load_silences(wh, at(14), at(20)) == []
        stored = list_silences(wh, now).iloc[0]
        assert (stored["created_by"], stored["comment"]) == ("alice", "retrain")
        assert expire_silence(wh, sid, "bob", at(12))
        assert not expire_silence(wh, sid, "bob", at(13))  # already over
        assert list_silences(wh, at(12)).empty
        row = list_silences(wh).iloc[0]
        assert (row["expired_by"], pd.Timestamp(row["ends_at"])) == ("bob", pd.Timestamp(at(12)))
        assert [s.silence_id for s in load_silences(wh, at(11), at(11))] == [sid]
        assert load_silences(wh, at(12), at(13)) == []
        with pytest.raises(ValueError, match="who"):
            add_silence(wh, {"model_id": "m1"}, now, now + HOUR, "", "x", now)
        with pytest.raises(ValueError, match="end after"):
            add_silence(wh, {"model_id": "m1"}, now, now, "a", "x", now)


def test_matchers_and_durations_are_parsed_strictly() -> None:
    assert parse_matchers(["model_id=m1", "team=ads"]) == {"model_id": "m1", "team": "ads"}
    for bad in (["nolabel"], ["colour=red"], ["team="], []):
        with pytest.raises(ValueError):
            parse_matchers(bad)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    with pytest.raises(ValueError):
        parse_duration("soon")


# -------------------------------------------------------------------------------------- routing
def test_routes_add_receivers_by_label_and_exclusive_routes_replace_defaults() -> None:
    cfg = AlertsConfig(
        receivers=("log", "am"),
        routes=(
            RouteConfig(match={"team": "ads"}, receivers=("slack_ads",)),
            RouteConfig(
                match={"team": "risk", "severity": "critical"}, receivers=("pager",), exclusive=True
            ),
            RouteConfig(match={"tier": "critical"}, receivers=("am", "mail")),
        ),
    )
    assert routing.receivers_for({"team": "ads"}, cfg) == ["log", "am", "slack_ads"]
    assert routing.receivers_for({"team": "ads", "tier": "critical"}, cfg) == [
        "log",
        "am",
        "slack_ads",
        "mail",
    ]
    assert routing.receivers_for({"team": "risk", "severity": "critical"}, cfg) == ["pager"]
    assert routing.receivers_for({"team": "risk", "severity": "warning"}, cfg) == ["log", "am"]


def test_labels_come_from_the_models_table_when_present(tmp_path, fleet) -> None:
    from modelwatch.labels import table_labels
    from tests.conftest import make_warehouse

    spec = make_warehouse(f"duckdb:///{tmp_path}/w.duckdb", fleet)
    with open_warehouse(spec) as wh:
        got = table_labels(wh, CFG.labels, ["model-000", "model-001", "nope"])
        expected = fleet.models.set_index("model_id").loc["model-000"]
        assert got["model-000"] == {
            "team": expected["team"],
            "tier": expected["tier"],
        }  # no owner column
        assert "nope" not in got
        wh.execute("ALTER TABLE models ADD COLUMN owner VARCHAR")
        wh.execute("UPDATE models SET owner = 'carol' WHERE model_id = 'model-001'")
        assert table_labels(wh, CFG.labels, ["model-001"])["model-001"]["owner"] == "carol"
        assert table_labels(wh, AlertsConfig(labels={"table": None}).labels, ["model-000"]) == {}
        assert (
            table_labels(wh, AlertsConfig(labels={"table": "inventory"}).labels, ["model-000"])
            == {}
        )


def test_enrich_adds_labels_runbook_and_the_run_link() -> None:
    cfg = AlertsConfig(
        runbook_url="https://rb.example.org/{model_id}#{kind}",
        runbooks={"m2": "https://rb.example.org/special"},
        airflow_url="https://airflow.example.org/",
    )
    e = event(ep(ANOMALY, 2, 2), 2)
    got = routing.enrich(
        e, {"model_id": "m1", "team": "ads"}, cfg, "scheduled__2026-11-01T03:00:00+00:00"
    )
    assert got.links["runbook_url"] == "https://rb.example.org/m1#anomaly"
    assert got.links["run_url"] == (
        "https://airflow.example.org/dags/model_health/runs/scheduled__2026-11-01T03%3A00%3A00%2B00%3A00"
    )
    assert got.labels["team"] == "ads"
    e2 = event(ep(ANOMALY, 2, 2, model="m2"), 2)
    assert routing.enrich(e2, {}, cfg, "r").links["runbook_url"] == "https://rb.example.org/special"


def test_optional_channels_without_a_connection_are_left_out(monkeypatch) -> None:
    from modelwatch.alerting.channels import available_receivers

    cfg = AlertsConfig(
        channels={
            "am": ChannelConfig(type="alertmanager", conn_id="mw_test_am_conn", optional=True),
            "hook": ChannelConfig(type="webhook", conn_id="mw_test_hook_conn"),
        }
    )
    monkeypatch.delenv("AIRFLOW_CONN_MW_TEST_AM_CONN", raising=False)
    assert available_receivers(cfg, ["log", "am", "hook"]) == ["log", "hook"]
    monkeypatch.setenv("AIRFLOW_CONN_MW_TEST_AM_CONN", "http://127.0.0.1:9")
    assert available_receivers(cfg, ["log", "am", "hook"]) == ["log", "am", "hook"]


@pytest.mark.parametrize(
    "channel",
    [
        {"type": "pager"},
        {"type": "slack"},
        {"type": "email", "conn_id": "x"},
    ],
)
def test_channel_config_is_validated(channel: dict) -> None:
    with pytest.raises(ValueError):
        Settings.model_validate({"alerts": {"channels": {"c": channel}}})


# ---------------------------------------------------------------------------------- delivery
class Flaky:
    """Fails `failures` times, then accepts; records every batch."""

    def __init__(self, name: str, failures: int = 0) -> None:
        self.name, self.failures, self.calls = name, failures, []

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        self.calls.append([e.alert_id for e in events])
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("refused")
        return Delivery(True, "ok")


E1 = AlertEvent("m1:anomaly:20261101T01", "m1", ANOMALY, FIRING, "warning", at(2), "s")
E2 = AlertEvent("m2:outage:20261101T02", "m2", OUTAGE, FIRING, "critical", at(2), "s")
E3 = AlertEvent("m3:anomaly:20261101T00", "m3", ANOMALY, RESOLVED, "warning", at(2), "s")
EMPTY = pd.DataFrame(columns=NOTIFICATION_COLUMNS)


def test_retries_with_backoff_inside_a_run_record_every_attempt() -> None:
    slack, waits = Flaky("slack", failures=2), []
    clock = iter(at(2) + timedelta(seconds=s) for s in range(100))
    got = deliver_all(
        [E1, E2],
        ["slack"],
        EMPTY,
        True,
        "",
        {"slack": slack}.__getitem__,
        retry=RetryPolicy(retries=3, backoff_s=0.5),
        sleep=waits.append,
        clock=lambda: next(clock),
    )
    assert waits == [0.5, 1.0]
    assert len(slack.calls) == 3
    assert set(got.ledger["state"]) == {SENT} and set(got.ledger["attempts"]) == {3}
    assert list(got.attempts.columns) == ATTEMPT_COLUMNS
    assert len(got.attempts) == 6  # 3 tries x 2 events
    by_event = got.attempts[got.attempts["alert_id"] == E1.alert_id].sort_values("attempt")
    assert by_event["ok"].tolist() == [False, False, True]
    assert by_event["attempt"].tolist() == [1, 2, 3]
    assert by_event["attempted_at"].is_monotonic_increasing
    assert (got.ledger["last_attempt_at"] == pd.Timestamp(at(2) + timedelta(seconds=2))).all()


def test_exhausted_retries_leave_failed_rows_that_later_runs_retry_until_max_attempts() -> None:
    down = Flaky("hook", failures=100)
    policy = RetryPolicy(retries=1, backoff_s=0, max_attempts=4)
    first = deliver_all(
        [E1], ["hook"], EMPTY, True, "", lambda _: down, retry=policy, sleep=lambda _: None
    )
    assert first.ledger[["state", "attempts"]].values.tolist() == [[FAILED, 2]]
    second = deliver_all(
        [E1], ["hook"], first.ledger, True, "", lambda _: down, retry=policy, sleep=lambda _: None
    )
    assert second.ledger[["state", "attempts"]].values.tolist() == [[FAILED, 4]]
    assert second.attempts["attempt"].tolist() == [3, 4]
    calls = len(down.calls)
    third = deliver_all(
        [E1], ["hook"], second.ledger, True, "", lambda _: down, retry=policy, sleep=lambda _: None
    )
    assert len(down.calls) == calls  # gave up: kept as failed, not tried again
    assert third.ledger[["state", "attempts"]].values.tolist() == [[FAILED, 4]]
    assert third.attempts.empty


def test_routing_and_held_events_per_receiver() -> None:
    am, slack = Flaky("am"), Flaky("slack")
    routes = {E1.alert_id: ["am", "slack"], E2.alert_id: ["am"], E3.alert_id: ["slack"]}
    got = deliver_all(
        [E1, E2, E3],
        ["am"],
        EMPTY,
        True,
        "",
        {"am": am, "slack": slack}.__getitem__,
        route=lambda e: routes[e.alert_id],
        held={event_key(E3): "silenced by s1"},
    )
    assert am.calls == [[E1.alert_id, E2.alert_id]]
    assert slack.calls == [[E1.alert_id]]  # one grouped batch per receiver; E3 held
    rows = {(r.alert_id, r.receiver): (r.state, r.detail) for r in got.ledger.itertuples()}
    assert rows[(E3.alert_id, "slack")] == (SUPPRESSED, "silenced by s1")
    assert len(rows) == 4
    assert got.ledger.loc[got.ledger["alert_id"] == E2.alert_id, "severity"].tolist() == [
        "critical"
    ]


def test_notify_off_keeps_an_owed_failure_as_it_is() -> None:
    down = Flaky("hook", failures=1)
    first = deliver_all([E1], ["hook"], EMPTY, True, "", lambda _: down)
    assert first.ledger["state"].tolist() == [FAILED]
    quiet = deliver_all([E1], ["hook"], first.ledger, False, "backfill", lambda _: down)
    assert quiet.ledger["state"].tolist() == [FAILED]
    assert len(down.calls) == 1


def test_channel_errors_are_recorded_without_secrets() -> None:
    class Leaky:
        name = "slack"

        def send(self, events: Sequence[AlertEvent]) -> Delivery:
            raise ConnectionError("POST https://hooks.slack.com/services/T0/B1/SeCrEt failed")

    got = deliver_all([E1], ["slack"], EMPTY, True, "", lambda _: Leaky())
    detail = got.ledger["detail"].iloc[0]
    assert "SeCrEt" not in detail and "/services/***" in detail
    assert "SeCrEt" not in got.attempts["detail"].iloc[0]


@pytest.mark.parametrize(
    "alerts_cfg",
    [
        {"routes": [{"match": {"colour": "red"}, "receivers": ["x"]}]},
        {"maintenance": [{"name": "w", "start": "02:30", "duration_hours": 1}]},
        {
            "maintenance": [
                {"name": "w", "start": "02:00", "duration_hours": 1, "weekdays": ["sunday"]}
            ]
        },
        {"labels": {"table": "models; drop table x"}},
        {"fleet": {"min_share": 0}},
    ],
)
def test_noise_control_settings_are_validated(alerts_cfg: dict) -> None:
    with pytest.raises(ValueError):
        Settings.model_validate({"alerts": alerts_cfg})


def test_a_model_id_cannot_change_the_runbook_urls_path() -> None:
    cfg = AlertsConfig(runbook_url="https://wiki.example/runbooks/{model_id}?kind={kind}")
    e = event(Episode("a/../b?x=1", "anomaly", at(0), at(0), None, 0.99, "[]"), 0)
    want = "https://wiki.example/runbooks/a%2F..%2Fb%3Fx%3D1?kind=anomaly"
    assert routing.runbook(e, cfg) == want
