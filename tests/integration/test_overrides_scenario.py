"""Per-model and per-label overrides, replayed hour by hour through the DAG's functions
(`pipeline.runner.run_local`, notify on, dry run) on the simulated incident day, once with the
fleet defaults and once with overrides; the same incidents page differently:

- team `search` leaves memory out (`exclude_metrics`): model-003's memory leak pages no one,
  while its team mate model-007 is scored as before;
- tier `critical` decides at 0.9 (`threshold`), recorded in each score row;
- model-000 waits 4 clean hours before resolving (`recovery_hours`), not 2;
- team `ads` wants 2 quarantined hours of 2 (`data_quality` rule): model-006's one bad hour
  does not page; model-005 (ads too) has its own outage rule, 2 of 2 hours, which moves the
  page of its 2-hour silent outage one hour later, and its resolve with it.

A page is a firing or repeated notification that was sent; resolves are not pages.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.config import Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY, FleetSpec, simulate_fleet
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse

H = timedelta(hours=1)
FIRST, LAST = 6, 23  # hours of the incident day replayed
KINDS = ("anomaly", "outage", "data_quality")
#: Plots are drawn for every opened alert (about 1 s each) and nothing here looks at them.
NO_PLOTS = {"alerts": {"plots": False}}
OVERRIDES = [
    {"match": {"team": "search"}, "detection": {"exclude_metrics": ["memory_util"]}},
    {"match": {"tier": "critical"}, "detection": {"threshold": 0.9}},
    {"match": {"team": "ads"}, "alerts": {"data_quality": {"n": 2, "m": 2}}},
    {
        "match": {"model_id": "model-005"},
        "alerts": {"outage": {"n": 2, "m": 2, "recovery_hours": 2}},
    },
    {"match": {"model_id": "model-000"}, "alerts": {"anomaly": {"recovery_hours": 4}}},
]


def replay(folder, settings: Settings) -> dict[str, pd.DataFrame]:
    fleet = simulate_fleet(FleetSpec(n_models=8, days=9))
    spec = make_warehouse(f"duckdb:///{folder}/w.duckdb", fleet)
    mode = RunMode("scheduled", notify=True, dry_run=True)
    for h in range(FIRST, LAST + 1):
        run_local(DEMO_DAY + h * H, spec, settings, mode=mode, run_id=f"t__{h}")
    tables = ("mw_notifications", "mw_alerts", "mw_scores", "models")
    with open_warehouse(spec) as wh:
        out = {t: wh.query(f"SELECT * FROM {t}") for t in tables}
    rerun = DEMO_DAY + 21 * H  # an hour run again gives the same rows
    run_local(rerun, spec, settings, mode=mode, run_id="t__21")
    with open_warehouse(spec) as wh:
        out["rerun_alerts"] = wh.query("SELECT * FROM mw_alerts")
        out["rerun_scores"] = wh.query("SELECT * FROM mw_scores")
    return out


@pytest.fixture(scope="module")
def fleet_run(tmp_path_factory) -> dict[str, pd.DataFrame]:
    return replay(tmp_path_factory.mktemp("fleet-defaults"), Settings.model_validate(NO_PLOTS))


@pytest.fixture(scope="module")
def override_run(tmp_path_factory) -> dict[str, pd.DataFrame]:
    settings = Settings.model_validate({**NO_PLOTS, "overrides": OVERRIDES})
    return replay(tmp_path_factory.mktemp("overrides"), settings)


def events(r: dict[str, pd.DataFrame], model: str, kind: str) -> list[tuple[int, str]]:
    """(hour of the day, event) of the model's sent notifications of one kind (log receiver)."""
    n = r["mw_notifications"]
    own = n[(n["model_id"] == model) & n["alert_id"].str.contains(f":{kind}:", regex=False)]
    own = own[(own["state"] == "sent") & (own["receiver"] == "log")]
    hours = pd.to_datetime(own["hour"]).dt.hour
    return sorted(zip(hours.tolist(), own["event"].tolist(), strict=True))


def pages(r: dict[str, pd.DataFrame], model: str, kind: str) -> int:
    return sum(1 for _, e in events(r, model, kind) if e in ("firing", "repeated"))


def test_the_scenario_has_the_labels_the_overrides_match(fleet_run) -> None:
    labels = fleet_run["models"].set_index("model_id")
    assert labels.loc["model-003", "team"] == labels.loc["model-007", "team"] == "search"
    assert set(labels.loc[["model-000", "model-003"], "tier"]) == {"critical"}
    assert set(labels.loc[["model-002", "model-005", "model-006"], "team"]) == {"ads"}


def test_an_excluded_metric_pages_no_one(fleet_run, override_run) -> None:
    assert events(fleet_run, "model-003", "anomaly")[0] == (7, "firing")
    assert pages(fleet_run, "model-003", "anomaly") == 2  # firing 07, repeated 11
    assert pages(override_run, "model-003", "anomaly") == 0
    s = override_run["mw_scores"]
    leak = s[(s["model_id"] == "model-003") & (s["status"] == "scored")]
    assert len(leak) == LAST - FIRST + 1 and not leak["is_anomaly"].any()
    assert not leak["top_metrics"].str.contains("memory_util").any()
    for run in (fleet_run, override_run):  # the team mate is scored, and quiet, either way
        assert pages(run, "model-007", "anomaly") == 0


def test_the_effective_threshold_is_recorded_per_model(fleet_run, override_run) -> None:
    s = override_run["mw_scores"].dropna(subset=["threshold"])
    by_model = s.groupby("model_id")["threshold"].agg(set).to_dict()
    assert by_model["model-000"] == by_model["model-003"] == {0.9}
    assert all(v == {0.95} for m, v in by_model.items() if m not in ("model-000", "model-003"))
    assert set(fleet_run["mw_scores"]["threshold"].dropna()) == {0.95}


def test_a_longer_recovery_resolves_later_with_the_same_pages(fleet_run, override_run) -> None:
    assert events(fleet_run, "model-000", "anomaly") == [
        (9, "firing"),
        (13, "repeated"),
        (14, "resolved"),
    ]
    assert events(override_run, "model-000", "anomaly") == [
        (9, "firing"),
        (13, "repeated"),
        (16, "resolved"),
    ]


def test_per_kind_rules_by_label_and_by_model_id(fleet_run, override_run) -> None:
    assert events(fleet_run, "model-006", "data_quality") == [(15, "firing"), (16, "resolved")]
    assert events(override_run, "model-006", "data_quality") == []
    alerts = override_run["mw_alerts"]
    assert not ((alerts["model_id"] == "model-006") & (alerts["kind"] == "data_quality")).any()
    assert events(fleet_run, "model-005", "outage") == [(20, "firing"), (22, "resolved")]
    assert events(override_run, "model-005", "outage") == [(21, "firing"), (23, "resolved")]


def test_models_without_a_matching_entry_page_as_before(fleet_run, override_run) -> None:
    for model in ("model-001", "model-002"):
        assert events(fleet_run, model, "anomaly") == events(override_run, model, "anomaly")
        assert pages(override_run, model, "anomaly") == 1
    total = {
        name: sum(pages(run, f"model-00{i}", k) for i in range(8) for k in KINDS)
        for name, run in (("fleet", fleet_run), ("overrides", override_run))
    }
    assert total == {"fleet": 8, "overrides": 5}


def test_rerunning_an_hour_gives_the_same_rows(override_run) -> None:
    def norm(f: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return f.sort_values(keys).reset_index(drop=True)

    keys = ["alert_id"]
    pd.testing.assert_frame_equal(
        norm(override_run["mw_alerts"], keys), norm(override_run["rerun_alerts"], keys)
    )
    keys = ["hour", "model_id"]
    pd.testing.assert_frame_equal(
        norm(override_run["mw_scores"], keys), norm(override_run["rerun_scores"], keys)
    )
