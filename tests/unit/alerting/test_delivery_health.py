"""modelwatch's own alert: a receiver failing in two consecutive runs opens a delivery_failure
episode (one per receiver), resolved at its first success."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from modelwatch.alerting.delivery_health import episodes, every_receiver_failed
from modelwatch.alerting.lifecycle import DELIVERY_FAILURE, MODELWATCH_ID, summarise

H = datetime(2026, 11, 1, 9)


def runs(*rows: tuple[int, str, bool]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "hour": H + timedelta(hours=h),
                "receiver": r,
                "ok": ok,
                "detail": None if ok else "HTTP 500",
            }
            for h, r, ok in rows
        ]
    )


def test_one_failed_run_is_not_an_alert_two_in_a_row_are() -> None:
    assert episodes(runs((0, "slack", False), (1, "slack", True))) == []
    (ep,) = episodes(runs((0, "slack", False), (1, "slack", False)))
    assert (ep.model_id, ep.kind, ep.opened_hour, ep.resolved_hour) == (
        MODELWATCH_ID,
        DELIVERY_FAILURE,
        H + timedelta(hours=1),
        None,
    )
    assert ep.alert_id == f"{MODELWATCH_ID}:{DELIVERY_FAILURE}:slack:20261101T10"
    assert "slack failed in 2 consecutive runs: HTTP 500" in summarise(ep)


def test_runs_without_its_notifications_neither_break_nor_extend_the_streak() -> None:
    """Consecutive runs are the runs that had notifications for the receiver."""
    (ep,) = episodes(runs((0, "slack", False), (5, "slack", False), (6, "slack", False)))
    assert ep.opened_hour == H + timedelta(hours=5) and ep.last_signal_hour == H + timedelta(
        hours=6
    )


def test_it_resolves_at_the_first_success_and_each_receiver_has_its_own() -> None:
    got = episodes(
        runs(
            (0, "slack", False),
            (1, "slack", False),
            (2, "slack", True),
            (0, "mail", False),
            (1, "mail", False),
            (2, "mail", False),
        )
    )
    by = {ep.key: ep for ep in got}
    assert by["slack"].resolved_hour == H + timedelta(hours=2)
    assert by["mail"].resolved_hour is None and len({ep.alert_id for ep in got}) == 2


def test_a_run_fails_as_a_whole_only_when_every_receiver_failed() -> None:
    assert every_receiver_failed(runs((0, "slack", False), (0, "log", True))) is None
    assert every_receiver_failed(runs((0, "slack", False))) == "slack: HTTP 500"
    assert every_receiver_failed(runs()) is None
