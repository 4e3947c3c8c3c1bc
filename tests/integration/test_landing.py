"""The late-data poke against real warehouses: which models have landed, whom to wait for."""

from __future__ import annotations

from datetime import timedelta

from modelwatch.config import Settings
from modelwatch.ingest.landing import check_landing
from modelwatch.pipeline import steps
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run

HOUR = DEMO_DAY + timedelta(hours=10)
END = HOUR + timedelta(hours=1)
S = Settings()


def ctx(spec, run_type: str, models: list[str] | None = None):
    mode = RunMode(run_type, notify=run_type == "scheduled", dry_run=True)
    return make_run(HOUR, spec, S, mode, models, f"{run_type}__t")


def cut(spec, model: str, after_minute: int) -> None:
    """`model`'s rows from minute `after_minute` of the hour on have not landed yet."""
    with open_warehouse(spec) as wh:
        wh.execute(
            "DELETE FROM model_metrics WHERE model_id = :m AND ts >= :t AND ts < :e",
            {"m": model, "t": HOUR + timedelta(minutes=after_minute), "e": END},
        )


def test_a_complete_hour_has_landed(seeded) -> None:
    with open_warehouse(seeded) as wh:
        got = check_landing(wh, ctx(seeded, "scheduled"), END + timedelta(minutes=1))
    assert got.done and got.missing == ()
    assert got.reason == "all 10 expected models have landed"


def test_a_model_whose_last_minutes_are_late_is_waited_for_until_the_deadline(seeded) -> None:
    cut(seeded, "model-003", 40)  # newest row at :39, older than the gate's 15 minutes
    with open_warehouse(seeded) as wh:
        early = check_landing(wh, ctx(seeded, "scheduled"), END + timedelta(minutes=3))
        late = check_landing(wh, ctx(seeded, "scheduled"), END + timedelta(minutes=30))
    assert not early.done and early.missing == ("model-003",)
    assert late.done and late.missing == ("model-003",)


def test_a_model_silent_since_the_hour_before_does_not_hold_the_run(seeded) -> None:
    with open_warehouse(seeded) as wh:  # model-005 stopped reporting at 09:00
        wh.execute(
            "DELETE FROM model_metrics WHERE model_id = 'model-005' AND ts >= :t",
            {"t": HOUR - timedelta(hours=1)},
        )
        got = check_landing(wh, ctx(seeded, "scheduled"), END + timedelta(minutes=1))
    assert got.done and got.missing == ()


def test_a_scheduled_run_of_named_models_waits_for_those(seeded) -> None:
    cut(seeded, "model-003", 40)
    with open_warehouse(seeded) as wh:
        mine = check_landing(wh, ctx(seeded, "scheduled", ["model-001"]), END)
        theirs = check_landing(wh, ctx(seeded, "scheduled", ["model-003"]), END)
    assert mine.done and not theirs.done


def test_manual_and_backfill_runs_go_on_at_once_with_rows_missing(seeded) -> None:
    cut(seeded, "model-003", 0)
    for run_type in ("manual", "backfill"):
        assert steps.landed(ctx(seeded, run_type), {"now": END})
    assert not steps.landed(ctx(seeded, "scheduled"), {"now": END})
