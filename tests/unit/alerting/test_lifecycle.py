"""Alert lifecycle: episodes are a pure function of the hourly signals, replayed over hours."""

from __future__ import annotations

import json
import random
from datetime import datetime

import pandas as pd
import pytest

from modelwatch.alerting.lifecycle import (
    ALERT_COLUMNS,
    ANOMALY,
    DATA_QUALITY,
    FIRING,
    OUTAGE,
    REPEATED,
    RESOLVED,
    Episode,
    Signal,
    build_episodes,
    episodes_frame,
    events_at,
    severity,
    summarise,
)
from modelwatch.config import AlertRule, AlertsConfig
from modelwatch.run import HOUR

T0 = datetime(2026, 11, 1)
#: anomaly 2 of 3 with 2 recovery hours; outage and data quality 1 of 1 with 1; repeat every 4.
CFG = AlertsConfig()
HORIZON = 48


def at(i: int) -> datetime:
    return T0 + i * HOUR


def explanation(observed: float = 840.0, baseline: float = 120.0) -> str:
    return json.dumps(
        [
            {
                "metric": "latency_p99_ms",
                "observed": observed,
                "baseline": baseline,
                "robust_z": 12.3,
            },
            {"metric": "request_rate", "observed": 310.0, "baseline": 100.0, "robust_z": 6.04},
            {"metric": "cpu_util", "observed": 0.97, "baseline": 0.45, "robust_z": 4.5},
            {"metric": "error_rate", "observed": 0.02, "baseline": 0.001, "robust_z": 2.0},
        ]
    )


def sig(
    i: int, model: str = "m1", kind: str = ANOMALY, score: float | None = 0.97, detail: str = ""
) -> Signal:
    if kind != ANOMALY and score == 0.97:
        score = None
    return Signal(model, at(i), kind, score, detail or explanation(observed=800.0 + i))


def build(signals: list[Signal], cfg: AlertsConfig = CFG, hours: int = HORIZON) -> list[Episode]:
    return build_episodes(signals, T0, at(hours), cfg)


def hours_of(episodes: list[Episode]) -> list[tuple[datetime, datetime | None]]:
    return [(ep.opened_hour, ep.resolved_hour) for ep in episodes]


def timeline(episodes: list[Episode], cfg: AlertsConfig = CFG) -> list[tuple[int, str]]:
    """Every (hour index, event) emitted over the horizon, as each hour's run would see it."""
    return [(i, e.event) for i in range(HORIZON + 1) for e in events_at(episodes, at(i), cfg)]


# --------------------------------------------------------------------------------------- opening
def test_no_signals_no_episodes() -> None:
    assert build([]) == []


def test_one_isolated_signal_opens_nothing_under_two_of_three() -> None:
    assert build([sig(5)]) == []


@pytest.mark.parametrize(("first", "second"), [(5, 6), (5, 7)])
def test_two_signals_within_three_hours_open_at_the_second(first: int, second: int) -> None:
    (ep,) = build([sig(first), sig(second)])
    assert ep.model_id == "m1"
    assert ep.kind == ANOMALY
    assert ep.opened_hour == at(second)
    assert ep.last_signal_hour == at(second)


def test_two_signals_further_apart_than_m_open_nothing() -> None:
    assert build([sig(5), sig(8)]) == []
    assert build([sig(5), sig(8), sig(11), sig(14)]) == []


def test_n_of_m_follows_the_configured_rule() -> None:
    cfg = AlertsConfig(anomaly=AlertRule(n=3, m=4, recovery_hours=2))
    assert build([sig(5), sig(6)], cfg) == []
    assert build([sig(5), sig(6), sig(9)], cfg) == []
    (ep,) = build([sig(5), sig(6), sig(8)], cfg)
    assert ep.opened_hour == at(8)


def test_critical_score_opens_at_once() -> None:
    (ep,) = build([sig(5, score=CFG.critical_score)])
    assert ep.opened_hour == at(5)
    assert severity(ep, CFG) == "critical"
    assert build([sig(5, score=CFG.critical_score - 1e-6)]) == []


def test_critical_shortcut_is_only_for_anomalies() -> None:
    cfg = AlertsConfig(data_quality=AlertRule(n=2, m=3, recovery_hours=1))
    assert build([sig(5, kind=DATA_QUALITY, score=1.0, detail="[]")], cfg) == []


def test_signals_outside_the_replayed_hours_are_ignored() -> None:
    signals = [sig(-2), sig(-1), sig(HORIZON + 1), sig(HORIZON + 2)]
    assert build(signals) == []


# -------------------------------------------------------------------------------------- recovery
def test_recovery_resolves_at_the_hour_it_completes() -> None:
    (ep,) = build([sig(5), sig(6)])
    assert ep.opened_hour == at(6)
    assert ep.last_signal_hour == at(6)
    # recovery_hours=2: hours 7 and 8 are clean, so recovery completes at 8.
    assert ep.resolved_hour == at(8)
    assert not ep.active_at(at(8))
    assert ep.active_at(at(7))
    assert ep.active_at(at(6))
    assert not ep.active_at(at(5))


def test_recovery_hours_follow_the_rule() -> None:
    cfg = AlertsConfig(anomaly=AlertRule(n=2, m=3, recovery_hours=5))
    (ep,) = build([sig(5), sig(6)], cfg)
    assert ep.resolved_hour == at(11)


def test_an_episode_still_signalling_at_the_end_stays_open() -> None:
    (ep,) = build([sig(i) for i in range(40, HORIZON + 1)])
    assert ep.opened_hour == at(41)
    assert ep.last_signal_hour == at(HORIZON)
    assert ep.resolved_hour is None
    # Recovery not yet complete at the end of the replay: still open.
    (ep,) = build([sig(HORIZON - 2), sig(HORIZON - 1)])
    assert ep.resolved_hour is None


def test_flapping_stays_one_episode() -> None:
    # signal, a gap shorter than recovery, signal, ... is one episode, not several.
    signals = [sig(5), sig(6), sig(8), sig(10), sig(12)]
    (ep,) = build(signals)
    assert ep.opened_hour == at(6)
    assert ep.last_signal_hour == at(12)
    assert ep.resolved_hour == at(14)


def test_a_new_episode_after_full_recovery_gets_a_new_id() -> None:
    first, second = build([sig(5), sig(6), sig(10), sig(11)])
    assert hours_of([first, second]) == [(at(6), at(8)), (at(11), at(13))]
    assert first.alert_id != second.alert_id
    assert first.alert_id == "m1:anomaly:20261101T06"
    assert second.alert_id == "m1:anomaly:20261101T11"


def test_a_gap_of_exactly_recovery_hours_splits_the_episode() -> None:
    # 6 opens, 7-8 clean (resolved at 8), 9 and 10 signal again -> reopen at 10.
    episodes = build([sig(5), sig(6), sig(9), sig(10)])
    assert hours_of(episodes) == [(at(6), at(8)), (at(10), at(12))]


# ----------------------------------------------------------------------------------- independence
def test_kinds_are_independent_per_model() -> None:
    episodes = build([sig(5), sig(6, kind=OUTAGE), sig(7, kind=DATA_QUALITY, detail="[]")])
    # One anomaly hour is not enough; the other kinds open on their own 1-of-1 rules.
    assert sorted((ep.kind, ep.opened_hour, ep.resolved_hour) for ep in episodes) == [
        (DATA_QUALITY, at(7), at(8)),
        (OUTAGE, at(6), at(7)),
    ]


def test_other_kinds_do_not_count_towards_an_anomaly() -> None:
    signals = [sig(5), sig(6, kind=OUTAGE), sig(7, kind=DATA_QUALITY, detail="[]")]
    assert [ep for ep in build(signals) if ep.kind == ANOMALY] == []


def test_models_are_independent() -> None:
    assert build([sig(5, model="a"), sig(6, model="b")]) == []
    episodes = build([sig(5, "a"), sig(6, "a"), sig(20, "b"), sig(21, "b")])
    assert sorted((ep.model_id, ep.opened_hour, ep.resolved_hour) for ep in episodes) == [
        ("a", at(6), at(8)),
        ("b", at(21), at(23)),
    ]


# --------------------------------------------------------------------------------------- peaks
def test_peak_score_and_detail_track_the_highest_score() -> None:
    signals = [
        sig(5, score=0.96, detail='["five"]'),
        sig(6, score=0.97, detail='["six"]'),
        sig(7, score=0.995, detail='["seven"]'),
        sig(8, score=0.98, detail='["eight"]'),
    ]
    (ep,) = build(signals)
    assert ep.peak_score == 0.995
    assert ep.detail == '["seven"]'
    assert ep.last_signal_hour == at(8)


def test_peak_starts_at_the_opening_signal() -> None:
    (ep,) = build([sig(5, score=0.96, detail='["a"]'), sig(6, score=0.97, detail='["b"]')])
    assert (ep.peak_score, ep.detail) == (0.97, '["b"]')


def test_scoreless_signals_keep_their_detail() -> None:
    (ep,) = build([sig(3, kind=DATA_QUALITY, detail='[{"check": "x"}]')])
    assert ep.peak_score is None
    assert ep.detail == '[{"check": "x"}]'


# -------------------------------------------------------------------------------------- events
def test_events_fire_repeat_and_resolve() -> None:
    # Open at 6 (signals from 5), last signal 20, clean 21-22 -> resolved at 22.
    (ep,) = build([sig(i) for i in range(5, 21)])
    assert (ep.opened_hour, ep.resolved_hour) == (at(6), at(22))
    # Reminders every 4 hours while open; at 22 (also 16 h in) the resolution wins.
    assert timeline([ep]) == [
        (6, FIRING),
        (10, REPEATED),
        (14, REPEATED),
        (18, REPEATED),
        (22, RESOLVED),
    ]


def test_repeat_interval_follows_the_config() -> None:
    cfg = AlertsConfig(repeat_interval_hours=3)
    (ep,) = build([sig(i) for i in range(5, 14)], cfg)
    assert (ep.opened_hour, ep.resolved_hour) == (at(6), at(15))
    assert timeline([ep], cfg) == [
        (6, FIRING),
        (9, REPEATED),
        (12, REPEATED),
        (15, RESOLVED),
    ]


def test_an_open_episode_keeps_repeating_and_never_resolves() -> None:
    (ep,) = build([sig(i) for i in range(5, HORIZON + 1)])
    events = timeline([ep])
    assert events[0] == (6, FIRING)
    assert [i for i, e in events if e == REPEATED] == list(range(10, HORIZON + 1, 4))
    assert RESOLVED not in {e for _, e in events}


def test_nothing_after_resolution_or_before_opening() -> None:
    (ep,) = build([sig(5), sig(6)])
    events = timeline([ep])
    assert events == [(6, FIRING), (8, RESOLVED)]


def test_event_fields() -> None:
    episodes = build([sig(5, score=0.9995), sig(6, model="x", kind=OUTAGE)])
    events = sorted(
        (e for ep in episodes for e in events_at(episodes, ep.opened_hour, CFG)),
        key=lambda e: e.alert_id,
    )
    assert [(e.alert_id, e.model_id, e.kind, e.event, e.severity, e.hour) for e in events] == [
        ("m1:anomaly:20261101T05", "m1", ANOMALY, FIRING, "critical", at(5)),
        ("x:outage:20261101T06", "x", OUTAGE, FIRING, "critical", at(6)),
    ]
    assert "latency_p99_ms" in events[0].summary
    assert "no metrics" in events[1].summary


# --------------------------------------------------------------------------------------- purity
def test_lifecycle_is_a_pure_function_of_the_signals() -> None:
    signals = [
        *(sig(i, "a", score=0.95 + i / 1000) for i in (3, 4, 6, 8, 15, 16, 17)),
        *(sig(i, "b") for i in (1, 2, 30, 32)),
        sig(9, "b", score=0.9999),
        *(sig(i, "a", kind=OUTAGE) for i in (10, 11, 20)),
        *(sig(i, "c", kind=DATA_QUALITY, detail='[{"check": "range"}]') for i in (0, 47, 48)),
    ]
    expected = build(signals)
    assert len(expected) >= 6
    frame = episodes_frame(expected, CFG)
    rng = random.Random(7)
    for _ in range(10):
        shuffled = signals[:]
        rng.shuffle(shuffled)
        got = build(shuffled)
        assert got == expected
        pd.testing.assert_frame_equal(episodes_frame(got, CFG), frame)
    # Seeing every hour twice (a rerun) changes nothing either.
    assert build(signals + signals[::-1]) == expected


# ---------------------------------------------------------------------------------------- frame
def test_episodes_frame_columns_and_dtypes() -> None:
    episodes = build([sig(5), sig(6), sig(46), sig(47), sig(9, "z", kind=OUTAGE)])
    frame = episodes_frame(episodes, CFG)
    assert list(frame.columns) == ALERT_COLUMNS
    assert len(frame) == 3
    for col in ("opened_hour", "last_signal_hour", "resolved_hour"):
        assert frame[col].dtype == "datetime64[us]"
    by_id = frame.set_index("alert_id")
    assert sorted(by_id.index) == [
        "m1:anomaly:20261101T06",
        "m1:anomaly:20261102T23",
        "z:outage:20261101T09",
    ]
    assert by_id.loc["m1:anomaly:20261101T06", "status"] == RESOLVED
    assert by_id.loc["m1:anomaly:20261101T06", "resolved_hour"] == pd.Timestamp(at(8))
    assert by_id.loc["m1:anomaly:20261102T23", "status"] == FIRING
    assert pd.isna(by_id.loc["m1:anomaly:20261102T23", "resolved_hour"])
    assert by_id.loc["z:outage:20261101T09", "severity"] == "critical"
    assert by_id.loc["m1:anomaly:20261101T06", "severity"] == "warning"
    assert by_id.loc["m1:anomaly:20261101T06", "peak_score"] == 0.97
    assert json.loads(by_id.loc["m1:anomaly:20261101T06", "explanation"])[0]["metric"] == (
        "latency_p99_ms"
    )
    assert by_id.loc["z:outage:20261101T09", "explanation"] != ""


def test_empty_episodes_frame_has_the_columns() -> None:
    frame = episodes_frame([], CFG)
    assert list(frame.columns) == ALERT_COLUMNS
    assert frame.empty
    assert frame["opened_hour"].dtype == "datetime64[us]"


# ------------------------------------------------------------------------------ severity, summary
def episode(kind: str, peak: float | None, detail: str = "[]") -> Episode:
    return Episode("m1", kind, at(1), at(2), None, peak, detail)


@pytest.mark.parametrize(
    ("kind", "peak", "expected"),
    [
        (OUTAGE, None, "critical"),
        (ANOMALY, 0.999, "critical"),
        (ANOMALY, 1.0, "critical"),
        (ANOMALY, 0.998, "warning"),
        (ANOMALY, None, "warning"),
        (DATA_QUALITY, None, "warning"),
        (DATA_QUALITY, 1.0, "warning"),
    ],
)
def test_severity_rules(kind: str, peak: float | None, expected: str) -> None:
    assert severity(episode(kind, peak), CFG) == expected


def test_severity_follows_the_configured_critical_score() -> None:
    assert severity(episode(ANOMALY, 0.98), AlertsConfig(critical_score=0.98)) == "critical"


def test_anomaly_summary_names_the_top_metric_with_observed_and_baseline() -> None:
    text = summarise(episode(ANOMALY, 0.9876, explanation(observed=840.0, baseline=120.0)))
    assert text.startswith("m1: anomaly score 0.988")
    assert "latency_p99_ms 840 vs 120 (z +12.3)" in text
    assert "request_rate 310 vs 100 (z +6.0)" in text
    # Metrics appear in the explanation's order and only the top k are named.
    assert text.index("latency_p99_ms") < text.index("request_rate") < text.index("cpu_util")
    assert "error_rate" not in text
    assert "cpu_util" not in summarise(episode(ANOMALY, 0.99, explanation()), top_k=2)


def test_outage_and_data_quality_summaries() -> None:
    assert "no metrics arrived" in summarise(episode(OUTAGE, None))
    detail = json.dumps(
        [{"check": "completeness", "unexpected": 31}, {"check": "cpu_util in [0, 1]"}]
    )
    text = summarise(episode(DATA_QUALITY, None, detail))
    assert text.startswith("m1: data quarantined")
    assert "completeness (31)" in text
    assert "cpu_util in [0, 1] (?)" in text
