"""Tests of the fleet simulator: determinism, the column contract, realistic physics, and that
each canonical incident shows up (and healthy models do not move) on the incident day."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from modelwatch.schema import ALL_COLUMNS, METRIC_NAMES
from modelwatch.sim.fleet import (
    DEMO_DAY,
    DEMO_END,
    TEAMS,
    Fleet,
    FleetSpec,
    model_ids,
    simulate_fleet,
)
from modelwatch.sim.incidents import INCIDENT_KINDS

DAY = pd.Timestamp(DEMO_DAY)
ROWS_PER_MODEL = 15 * 1440
FLOAT_COLS = [c for c in METRIC_NAMES if c != "replicas"]
CANONICAL = [
    ("model-000", "traffic_surge", 9, 13),
    ("model-001", "latency_regression", 14, 20),
    ("model-002", "error_burst", 17, 19),
    ("model-003", "memory_leak", 4, 12),
    ("model-004", "prediction_drift", 6, 14),
    ("model-005", "silent_outage", 20, 22),
    ("model-006", "bad_data", 15, 16),
]


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    """The default demo fleet (24 models, 15 days), shared because it is read-only."""
    return simulate_fleet(FleetSpec())


def series(fleet: Fleet, mid: str) -> pd.DataFrame:
    """One model's rows indexed by ts."""
    m = fleet.metrics
    return m[m["model_id"] == mid].set_index("ts")


def at(day_offset: int, hour: float) -> pd.Timestamp:
    """A time on the incident day (day_offset=0) or a day before it (negative)."""
    return DAY + pd.Timedelta(days=day_offset) + pd.Timedelta(hours=hour)


def window(x: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return x[(x.index >= start) & (x.index < end)]


def history(x: pd.DataFrame) -> pd.DataFrame:
    return x[x.index < DAY]


def healthy_ids(fleet: Fleet) -> list[str]:
    hit = set(fleet.incidents["model_id"])
    return [m for m in fleet.models["model_id"] if m not in hit]


# ---------------------------------------------------------------------------------------------
# API, determinism, contract


def test_model_ids_are_zero_padded_and_sort_numerically() -> None:
    assert model_ids(3) == ["model-000", "model-001", "model-002"]
    assert model_ids(1000)[-1] == "model-999"
    big = model_ids(1001)
    assert big[0] == "model-0000" and big[-1] == "model-1000"
    assert big == sorted(big)


def test_same_seed_is_identical_and_other_seed_differs() -> None:
    spec = FleetSpec(n_models=8, days=15)
    a, b = simulate_fleet(spec), simulate_fleet(spec)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_frame_equal(a.incidents, b.incidents, check_exact=True)
    pd.testing.assert_frame_equal(a.models, b.models, check_exact=True)
    ha = pd.util.hash_pandas_object(a.metrics, index=False).to_numpy()
    assert np.array_equal(ha, pd.util.hash_pandas_object(b.metrics, index=False).to_numpy())
    c = simulate_fleet(FleetSpec(n_models=8, days=15, seed=8))
    assert not np.array_equal(
        a.metrics["request_rate"].to_numpy()[:1000], c.metrics["request_rate"].to_numpy()[:1000]
    )


def test_a_model_is_the_same_whatever_the_fleet_size() -> None:
    small = simulate_fleet(FleetSpec(n_models=8, days=2))
    large = simulate_fleet(FleetSpec(n_models=12, days=2))
    a = small.metrics[small.metrics["model_id"] == "model-007"].reset_index(drop=True)
    b = large.metrics[large.metrics["model_id"] == "model-007"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_columns_and_dtypes(fleet: Fleet) -> None:
    m = fleet.metrics
    assert list(m.columns) == list(ALL_COLUMNS)
    assert m["ts"].dtype == np.dtype("datetime64[us]")
    for c in FLOAT_COLS:
        assert m[c].dtype == np.float64, c
    assert m["replicas"].dtype == np.int64
    assert pd.api.types.is_string_dtype(m["model_id"])
    assert pd.api.types.is_string_dtype(m["model_version"])
    assert m["model_version"].str.fullmatch(r"v\d+").all()


def test_rows_per_model_and_minute_grid(fleet: Fleet) -> None:
    m = fleet.metrics
    counts = m.groupby("model_id")["ts"].size()
    for mid in healthy_ids(fleet):
        assert counts[mid] == ROWS_PER_MODEL
    x = series(fleet, "model-010")
    assert x.index[0] == pd.Timestamp(DEMO_END - timedelta(days=15))
    assert x.index[-1] == pd.Timestamp(DEMO_END - timedelta(minutes=1))
    assert (np.diff(x.index.asi8) == 60_000_000).all()
    assert (m["ts"].dt.second == 0).all() and (m["ts"].dt.microsecond == 0).all()


def test_sorted_by_model_then_ts(fleet: Fleet) -> None:
    keyed = fleet.metrics.dropna(subset=["model_id"])
    assert pd.MultiIndex.from_frame(keyed[["model_id", "ts"]]).is_monotonic_increasing


def test_latency_quantiles_ordered_and_ranges(fleet: Fleet) -> None:
    m = fleet.metrics
    ok = m[m["latency_p50_ms"] >= 0]
    assert len(m) - len(ok) <= 10  # only the bad-data rows
    assert (ok["latency_p50_ms"] > 0).all()
    assert (ok["latency_p50_ms"] <= ok["latency_p95_ms"]).all()
    assert (ok["latency_p95_ms"] <= ok["latency_p99_ms"]).all()
    for c in ("error_rate", "cpu_util", "memory_util"):
        assert m[c].between(0.0, 1.0).all(), c
    assert (m["request_rate"] > 0).all()
    assert m[FLOAT_COLS].notna().all().all()
    per_model = m.groupby("model_id")["replicas"].agg(["min", "max"])
    assert (per_model["min"] == per_model["max"]).all()  # no autoscaler
    assert per_model["min"].between(2, 12).all()


def test_models_table(fleet: Fleet) -> None:
    models = fleet.models
    assert list(models.columns) == ["model_id", "team", "tier", "base_replicas"]
    assert list(models["model_id"]) == model_ids(24)
    assert set(models["team"]) <= set(TEAMS)
    assert (models["tier"] == "critical").sum() == 6
    assert set(models["tier"]) == {"critical", "standard"}
    observed = fleet.metrics.groupby("model_id")["replicas"].first()
    assert (observed[models["model_id"]].to_numpy() == models["base_replicas"].to_numpy()).all()


# ---------------------------------------------------------------------------------------------
# Physics of healthy models


def test_daily_seasonality_and_weekends(fleet: Fleet) -> None:
    for mid in healthy_ids(fleet):
        x = history(series(fleet, mid))
        hourly = x["request_rate"].groupby(x.index.hour).mean()
        assert hourly.max() / hourly.min() > 1.5, mid
        weekend = x.index.dayofweek >= 5
        ratio = x["request_rate"][weekend].mean() / x["request_rate"][~weekend].mean()
        assert 0.6 < ratio < 0.97, (mid, ratio)


def test_latency_and_cpu_follow_load(fleet: Fleet) -> None:
    x = history(series(fleet, "model-010"))
    assert np.corrcoef(x["request_rate"], x["cpu_util"])[0, 1] > 0.9
    assert np.corrcoef(x["request_rate"], x["latency_p50_ms"])[0, 1] > 0.5


def test_healthy_models_have_no_jumps(fleet: Fleet) -> None:
    # Consecutive 10-minute means never move by more than ~20%: seasonality, weekends and noise
    # are all smooth (a weekend step at midnight would be a 10-30% jump).
    for mid in healthy_ids(fleet):
        x = series(fleet, mid)
        for c, limit in (("request_rate", 0.2), ("latency_p50_ms", 0.2), ("memory_util", 0.1)):
            means = x[c].resample("10min").mean().to_numpy()
            assert np.abs(np.diff(np.log(means))).max() < limit, (mid, c)


def test_healthy_models_stay_in_range_on_incident_day(fleet: Fleet) -> None:
    for mid in healthy_ids(fleet):
        x = series(fleet, mid)
        hist, day = history(x), x[x.index >= DAY]
        for c in ("latency_p99_ms", "request_rate", "error_rate", "cpu_util"):
            assert day[c].max() <= 1.5 * hist[c].max(), (mid, c)
        for c in ("memory_util", "prediction_mean"):
            spread = hist[c].max() - hist[c].min()
            assert hist[c].min() - 0.25 * spread <= day[c].min(), (mid, c)
            assert day[c].max() <= hist[c].max() + 0.25 * spread, (mid, c)
        assert x["model_version"].nunique() == 1, mid
        # No level shift: each hour of the incident day vs the same hour one week earlier.
        day_h = day["request_rate"].resample("1h").mean().to_numpy()
        week_ago = window(x, at(-7, 0), at(-6, 0))["request_rate"].resample("1h").mean()
        log_ratio = np.log(day_h / week_ago.to_numpy())
        assert np.abs(log_ratio).max() < np.log(1.4), mid
        assert abs(np.log(day_h.mean() / week_ago.mean())) < np.log(1.15), mid


# ---------------------------------------------------------------------------------------------
# Canonical incidents


def test_incidents_table_has_the_canonical_rows(fleet: Fleet) -> None:
    inc = fleet.incidents
    assert list(inc.columns) == ["model_id", "kind", "start", "end", "detail"]
    assert len(inc) == 7  # floor(0.05 * (24 - 7)) = 0 extra incidents
    got = [(r.model_id, r.kind, r.start, r.end) for r in inc.itertuples()]
    assert got == [(mid, kind, at(0, s), at(0, e)) for mid, kind, s, e in CANONICAL]
    assert inc["start"].dtype == np.dtype("datetime64[us]")
    assert inc["end"].dtype == np.dtype("datetime64[us]")
    assert inc["detail"].str.len().gt(5).all()
    assert inc["detail"].iloc[0].startswith("demand x")


def test_traffic_surge_saturates(fleet: Fleet) -> None:
    x = series(fleet, "model-000")
    hist = history(x)
    surge = window(x, at(0, 9.25), at(0, 12.8))
    assert surge["latency_p99_ms"].mean() > 4 * hist["latency_p99_ms"].median()
    assert surge["latency_p99_ms"].min() > 2 * hist["latency_p99_ms"].max()
    assert surge["cpu_util"].mean() > 0.9
    assert surge["error_rate"].mean() > 0.05
    before = window(x, at(-7, 9.25), at(-7, 12.8))  # same hours, one week earlier
    assert 2.2 < surge["request_rate"].mean() / before["request_rate"].mean() < 3.6
    after = window(x, at(0, 13), at(0, 15))
    assert after["latency_p99_ms"].max() < 1.5 * hist["latency_p99_ms"].max()


def test_latency_regression_follows_a_deploy(fleet: Fleet) -> None:
    x = series(fleet, "model-001")
    v = x["model_version"]
    old = v.loc[at(0, 14) - pd.Timedelta(minutes=1)]
    new = window(x, at(0, 14), at(0, 20))["model_version"]
    assert (new != old).all() and new.nunique() == 1
    assert v.loc[at(0, 20)] == old  # rolled back
    reg = window(x, at(0, 14), at(0, 20))
    ref = window(x, at(-7, 14), at(-7, 20))
    assert 1.5 < reg["latency_p50_ms"].mean() / ref["latency_p50_ms"].mean() < 2.2
    assert 0.8 < reg["cpu_util"].mean() / ref["cpu_util"].mean() < 1.25
    assert reg["error_rate"].max() < 0.05


def test_error_burst(fleet: Fleet) -> None:
    x = series(fleet, "model-002")
    burst = window(x, at(0, 17), at(0, 19))
    assert burst["error_rate"].between(0.05, 0.15).all()
    outside = x[(x.index < at(0, 17)) | (x.index >= at(0, 19))]
    assert outside["error_rate"].max() < 0.05
    assert burst["model_version"].nunique() == 1
    assert burst["model_version"].iloc[0] != outside["model_version"].iloc[0]


def test_memory_leak_ramps_then_restarts(fleet: Fleet) -> None:
    x = series(fleet, "model-003")
    base = history(x)["memory_util"].mean()
    leak = window(x, at(0, 4), at(0, 12))["memory_util"]
    assert leak.iloc[:10].mean() < base + 0.03
    assert leak.iloc[-1] > 0.9
    assert np.corrcoef(np.arange(len(leak)), leak)[0, 1] > 0.95
    assert abs(window(x, at(0, 12), at(0, 12.25))["memory_util"].mean() - base) < 0.03


def test_prediction_drift(fleet: Fleet) -> None:
    x = series(fleet, "model-004")
    hist = history(x)["prediction_mean"]
    mu, sd = hist.mean(), hist.std()
    drift = window(x, at(0, 6), at(0, 14))["prediction_mean"]
    assert drift.iloc[:30].mean() < mu + 3 * sd  # gradual, not a step to +6 sd
    assert window(x, at(0, 11), at(0, 14))["prediction_mean"].mean() > mu + 4 * sd
    assert abs(window(x, at(0, 14), at(0, 16))["prediction_mean"].mean() - mu) < 2 * sd


def test_silent_outage_has_no_rows(fleet: Fleet) -> None:
    x = series(fleet, "model-005")
    assert len(x) == ROWS_PER_MODEL - 120
    assert window(x, at(0, 20), at(0, 22)).empty
    assert at(0, 20) - pd.Timedelta(minutes=1) in x.index and at(0, 22) in x.index


def test_bad_data_hour(fleet: Fleet) -> None:
    m = fleet.metrics
    start, end = at(0, 15), at(0, 16)
    in_hour = (m["ts"] >= start) & (m["ts"] < end)

    negative = m[m["latency_p50_ms"] < 0]
    assert 3 <= len(negative) <= 9
    assert (negative["model_id"] == "model-006").all() and in_hour[negative.index].all()

    null_ids = m[m["model_id"].isna()]
    assert 1 <= len(null_ids) <= 5
    assert in_hour[null_ids.index].all()

    dups = m[m.duplicated(keep="first")]
    assert 3 <= len(dups) <= 9
    assert (dups["model_id"] == "model-006").all() and in_hour[dups.index].all()
    keys = m.dropna(subset=["model_id"]).duplicated(subset=["model_id", "ts"]).sum()
    assert keys == len(dups)  # every key duplicate is an exact duplicate
    # 60 grid minutes, minus none, plus the duplicates (null-id rows keep their place).
    assert in_hour.sum() - len(dups) == 24 * 60


# ---------------------------------------------------------------------------------------------
# Extra incidents, small fleets, other periods, validation


def test_extra_incidents_only_change_their_window() -> None:
    spec = FleetSpec(n_models=40, days=3, extra_incident_share=0.25)
    with_extra = simulate_fleet(spec)
    plain = simulate_fleet(FleetSpec(n_models=40, days=3, extra_incident_share=0.0))
    inc = with_extra.incidents
    extra = inc.iloc[7:]
    assert len(extra) == 8  # floor(0.25 * 33)
    assert extra["model_id"].is_unique and (extra["model_id"] >= "model-007").all()
    assert set(extra["kind"]) <= set(INCIDENT_KINDS[:5])
    hours = (extra["end"] - extra["start"]) / pd.Timedelta(hours=1)
    assert hours.between(2, 5).all()
    assert (extra["start"] >= DAY).all() and (extra["end"] <= pd.Timestamp(DEMO_END)).all()
    pd.testing.assert_frame_equal(inc.iloc[:7], plain.incidents, check_exact=True)

    for r in extra.itertuples():
        a = with_extra.metrics[with_extra.metrics["model_id"] == r.model_id].set_index("ts")
        b = plain.metrics[plain.metrics["model_id"] == r.model_id].set_index("ts")
        inside = (a.index >= r.start) & (a.index < r.end)
        cols = ["request_rate"] if r.kind == "traffic_surge" else list(ALL_COLUMNS[2:])
        pd.testing.assert_frame_equal(a.loc[~inside, cols], b.loc[~inside, cols], check_exact=True)
        assert not a.loc[inside].equals(b.loc[inside]), r.model_id
        if r.kind == "traffic_surge":
            assert a.loc[inside, "cpu_util"].iloc[30:-15].mean() > 0.9


def test_small_fleet_gets_first_kinds() -> None:
    f = simulate_fleet(FleetSpec(n_models=3, days=1))
    assert list(f.incidents["kind"]) == list(INCIDENT_KINDS[:3])
    assert len(f.metrics) == 3 * 1440
    one = simulate_fleet(FleetSpec(n_models=1, days=1))
    assert list(one.incidents["kind"]) == ["traffic_surge"]


def test_custom_end_puts_incidents_on_the_last_day() -> None:
    end = datetime(2025, 3, 12)
    f = simulate_fleet(FleetSpec(n_models=7, days=2, end=end))
    assert f.metrics["ts"].max() == pd.Timestamp(end - timedelta(minutes=1))
    assert f.metrics["ts"].min() == pd.Timestamp(end - timedelta(days=2))
    assert (f.incidents["start"] >= pd.Timestamp(end - timedelta(days=1))).all()


@pytest.mark.parametrize(
    "spec",
    [
        FleetSpec(n_models=0),
        FleetSpec(days=0),
        FleetSpec(extra_incident_share=1.5),
        FleetSpec(end=datetime(2026, 11, 2, 0, 0, 30)),
    ],
)
def test_invalid_specs_are_rejected(spec: FleetSpec) -> None:
    with pytest.raises(ValueError):
        simulate_fleet(spec)
