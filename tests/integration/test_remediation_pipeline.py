"""Remediation on the simulated incident day, through the pipeline's steps (no Airflow).

The demo fleet's incidents: a traffic surge that saturates model-000 (09-13), a latency
regression right after a version change (model-001, 14-20), an error burst right after a version
change (model-002, 17-19), a memory leak (model-003, 04-12). These tests pin what the policies and
guardrails make of them, on both warehouse backends: one scale-up with the HPA formula's count,
reruns that change nothing, the cooldown, backfills that never act, and the live path (approval,
dispatch once, retry after a failure) against a recording HTTP webhook on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd
import pytest

from modelwatch.config import RemediationConfig, Settings
from modelwatch.pipeline import approval, steps
from modelwatch.pipeline.runner import run_local
from modelwatch.remediation.targets import ConnectionFields
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_run

DRY = RunMode("scheduled", notify=False, dry_run=True)
LIVE = RunMode("manual", notify=False, dry_run=False)
BACKFILL = RunMode("backfill", notify=False, dry_run=True)
SURGING = ["model-000"]
SURGE = range(8, 14)  # an hour before the surge, the surge (09-13), the hour after
#: Whole demo hours are slow on 2 cores: the policy tests run on DuckDB, the live path on both.
duckdb_only = pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


def q(spec, sql: str, **params: Any) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query(sql, params)


def outbox(spec, **where: Any) -> pd.DataFrame:
    frame = q(spec, "SELECT * FROM mw_remediation_requests ORDER BY hour, model_id, action")
    for k, v in where.items():
        frame = frame[frame[k] == v]
    return frame.reset_index(drop=True)


class Webhook:
    """A receiver on 127.0.0.1 that records each POST; `fail` answers the next ones with 503."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hook.posts.append({"key": self.headers.get("Idempotency-Key"), "body": body})
                code = 503 if hook.fail else 202
                hook.fail = max(0, hook.fail - 1)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/remediate"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def connection(self, conn_id: str) -> ConnectionFields:
        return ConnectionFields(conn_id=conn_id, conn_type="http", extra={"url": self.url})


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()
        hook.thread.join(timeout=10)


@pytest.fixture
def live_settings() -> Settings:
    return Settings(remediation=RemediationConfig(dry_run=False, target="webhook"))


def hour_run(
    spec,
    settings: Settings,
    h: int,
    mode: RunMode,
    webhook: Webhook | None = None,
    models: list[str] | None = None,
):
    """One hour as the DAG runs it when nobody answers an approval: the pipeline, then dispatch
    (live tests run model-000 alone: model-003's leak would get a restart at the same hours)."""
    run_local(at(h), spec, settings, mode=mode, models=models, run_id=f"test__{h}", dispatch=False)
    run = make_run(at(h), spec, settings, mode, models, f"test__{h}")
    get = webhook.connection if webhook else None
    return steps.dispatch(run, {}, get)


def approve(spec, settings: Settings, h: int, answer: dict[str, Any] | None):
    run = make_run(at(h), spec, settings, LIVE, SURGING, f"test__{h}")
    waiting = outbox(spec, status="awaiting_approval")
    ids = waiting.loc[waiting["hour"] == at(h), "request_id"].tolist()
    return approval.record(run, {"approval": {"request_ids": ids}}, answer)


@duckdb_only
# ----------------------------------------------------------------------------------- dry run
def test_the_surge_yields_one_scale_up_by_the_hpa_formula(seeded, settings):
    for h in SURGE:
        run_local(at(h), seeded, settings, mode=DRY)
    ups = outbox(seeded, model_id="model-000", action="scale_up")
    active = ups[ups["status"] == "proposed"]
    assert active["hour"].tolist() == [at(9)]
    row = active.iloc[0]
    evidence = json.loads(row["evidence"])
    n, util = int(row["from_replicas"]), evidence["utilisation"]
    target = settings.remediation.scale_up.target_utilisation
    formula = math.ceil(round(n * util / target, 9))
    cfg = settings.remediation
    assert int(row["to_replicas"]) == max(cfg.min_replicas, min(cfg.max_replicas, formula))
    assert int(row["to_replicas"]) - n <= cfg.max_step
    assert (n, int(row["to_replicas"])) == (5, 13)  # the demo's figures: ceil(5 * 1.47 / 0.6)
    assert row["mode"] == "dry_run"
    assert "would wait for approval: a step of 8 replicas" in row["status_reason"]
    # the surge goes on: 10 and 11 fall in the cooldown, 12 finds the 09 request not applied
    later = ups[ups["hour"] > at(9)].set_index("hour")["status_reason"]
    assert later[at(10)] == "cooldown: scale_up at 2026-11-01 09:00 (proposed), 3 h"
    assert later[at(11)] == "cooldown: scale_up at 2026-11-01 09:00 (proposed), 3 h"
    assert later[at(12)].startswith("in flight: scale_up to 13 at 2026-11-01 09:00 (proposed)")
    assert at(13) not in later.index  # the surge is over
    # nothing else in the fleet is asked to act during the surge hours, and nothing was sent
    other = outbox(seeded)
    other = other[(other["model_id"] != "model-000") & (other["status"] != "skipped")]
    assert set(other["action"]) <= {"restart"}  # model-003's leak, below
    assert not outbox(seeded)["status"].isin(["approved", "dispatched", "applied"]).any()
    runs = q(seeded, "SELECT hour, scaling_requests FROM mw_runs ORDER BY hour")
    assert runs.set_index("hour")["scaling_requests"].to_dict() == {
        at(h): int(h == 9) for h in SURGE
    }


@duckdb_only
def test_rerunning_the_surge_three_times_changes_nothing(seeded, settings):
    for h in SURGE:
        run_local(at(h), seeded, settings, mode=DRY)
    first = outbox(seeded)
    events = q(seeded, "SELECT * FROM mw_remediation_events ORDER BY event_id")
    for _ in range(3):
        for h in (12, 9, 11, 10):  # the surge's hours again, in any order
            run_local(at(h), seeded, settings, mode=DRY)
    pd.testing.assert_frame_equal(outbox(seeded), first, check_dtype=False)
    again = q(seeded, "SELECT * FROM mw_remediation_events ORDER BY event_id")
    pd.testing.assert_frame_equal(again, events, check_dtype=False)  # no new audit rows
    assert (outbox(seeded, action="scale_up")["status"] == "proposed").sum() == 1


@duckdb_only
def test_a_backfill_over_the_incident_records_but_never_acts(seeded, live_settings, webhook):
    for h in SURGE:
        result = hour_run(seeded, live_settings, h, BACKFILL, webhook)
        assert result == {"sent": 0, "statuses": {}}
    rows = outbox(seeded)
    assert len(rows) and (rows["mode"] == "backfill").all()
    assert set(rows["status"]) <= {"proposed", "skipped"}
    assert rows.loc[rows["status"] == "proposed", "status_reason"].str.startswith("backfill").all()
    ups = rows[(rows["action"] == "scale_up") & (rows["status"] == "proposed")]
    assert ups[["model_id", "hour", "to_replicas"]].values.tolist() == [["model-000", at(9), 13]]
    assert webhook.posts == []


@duckdb_only
def test_other_signatures_roll_back_restart_or_do_nothing(seeded, settings):
    for h in (8, 9, 14, 15, 16, 17, 18):
        run_local(at(h), seeded, settings, mode=DRY)
    rows = outbox(seeded)
    proposed = rows[rows["status"] == "proposed"]
    got = {(r.model_id, r.hour.hour, r.action) for r in proposed.itertuples()}
    assert got == {
        ("model-003", 8, "restart"),  # memory up every hour since 04
        ("model-000", 9, "scale_up"),  # errors burst too, but no deploy: no rollback
        ("model-001", 14, "rollback"),  # latency x1.8 right after v3 -> v4
        ("model-002", 17, "rollback"),  # errors ~7 % right after v6 -> v7
    }
    rb = proposed[proposed["model_id"] == "model-002"].iloc[0]
    evidence = json.loads(rb["evidence"])
    assert (evidence["from_version"], evidence["to_version"]) == ("v7", "v6")
    assert evidence["changed_at"] == at(17).isoformat()
    assert "rollback always needs approval" in rb["status_reason"]
    # 15 and 18: inside the rollback's 6 h cooldown; from 16 model-001's deploy is more than
    # `within_hours` (2) old: no longer "right after a version change"
    skipped = rows[rows["status"] == "skipped"]
    cooled = {(r.model_id, r.hour.hour) for r in skipped.itertuples() if r.action == "rollback"}
    assert cooled == {("model-001", 15), ("model-002", 18)}
    # the hour of bad data (model-006, 15) and the outage (model-005, 20) never act
    assert not rows["model_id"].isin(["model-005", "model-006"]).any()


# -------------------------------------------------------------------------------------- live
def test_a_large_step_waits_for_approval_and_goes_once_when_approved(
    seeded, live_settings, webhook
):
    result = hour_run(seeded, live_settings, 9, LIVE, webhook, SURGING)
    row = outbox(seeded, model_id="model-000").iloc[0]
    assert (row["status"], row["from_replicas"], row["to_replicas"]) == ("awaiting_approval", 5, 13)
    assert result["sent"] == 0 and webhook.posts == []  # not without an answer
    assert approve(
        seeded,
        live_settings,
        9,
        {"chosen_options": ["Approve"], "responded_by_user": {"id": "7", "name": "alice"}},
    ) == {"decided": 1, "approved": True, "by": "alice"}
    run = make_run(at(9), seeded, live_settings, LIVE, SURGING, "test__9")
    sent = steps.dispatch(run, {}, webhook.connection)
    assert sent == {"sent": 1, "statuses": {"dispatched": 1}}
    for _ in range(3):  # reruns of the hour, approvals and all: nothing is sent again
        hour_run(seeded, live_settings, 9, LIVE, webhook, SURGING)
    assert [p["key"] for p in webhook.posts] == ["model-000:20261101T09:scale_up"]
    body = webhook.posts[0]["body"]
    assert (body["action"], body["from_replicas"], body["to_replicas"]) == ("scale_up", 5, 13)
    row = outbox(seeded, model_id="model-000").iloc[0]
    assert (row["status"], row["decided_by"], row["target"], row["attempts"]) == (
        "dispatched",
        "alice",
        "webhook",
        1,
    )
    trail = q(
        seeded, "SELECT * FROM mw_remediation_events WHERE model_id = 'model-000' ORDER BY seq"
    )
    trail = trail.astype(object).where(trail.notna(), None)
    assert trail[["from_status", "to_status", "actor"]].values.tolist() == [
        [None, "awaiting_approval", "modelwatch"],
        ["awaiting_approval", "approved", "alice"],
        ["approved", "dispatched", "modelwatch"],
    ]
    # the next hour of the surge: inside the cooldown of the dispatched request
    hour_run(seeded, live_settings, 10, LIVE, webhook, SURGING)
    assert outbox(seeded, model_id="model-000", hour=at(10))["status_reason"][0].startswith(
        "cooldown: scale_up at 2026-11-01 09:00 (dispatched)"
    )
    assert len(webhook.posts) == 1


@duckdb_only
@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (None, "rejected: no answer from an operator"),  # the approval task failed
        (
            {"chosen_options": ["Reject"], "responded_by_user": None},
            "rejected: no answer before the approval timeout",
        ),  # the timeout's default
        (
            {"chosen_options": ["Reject"], "responded_by_user": {"id": "1", "name": "bob"}},
            "rejected by bob in Airflow",
        ),
    ],
)
def test_no_or_no_answer_sends_nothing(seeded, live_settings, webhook, answer, why):
    hour_run(seeded, live_settings, 9, LIVE, webhook, SURGING)
    assert approve(seeded, live_settings, 9, answer)["decided"] == 1
    for _ in range(2):
        hour_run(seeded, live_settings, 9, LIVE, webhook, SURGING)  # a rerun never asks again
    row = outbox(seeded, model_id="model-000").iloc[0]
    assert (row["status"], row["status_reason"]) == ("rejected", why)
    assert webhook.posts == []


@duckdb_only
def test_a_failed_dispatch_is_retried_by_the_next_run(seeded, live_settings, webhook):
    small = live_settings.model_copy(
        update={
            "remediation": live_settings.remediation.model_copy(
                update={
                    "approval": live_settings.remediation.approval.model_copy(
                        update={"max_auto_step": 10, "max_auto_step_percent": 500}
                    )
                }
            )
        }
    )
    webhook.fail = 1
    first = hour_run(seeded, small, 9, LIVE, webhook, SURGING)
    assert first == {"sent": 0, "statuses": {"failed": 1}}
    row = outbox(seeded, model_id="model-000").iloc[0]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["status_reason"] == "webhook: HTTP 503 Service Unavailable"
    nxt = hour_run(seeded, small, 10, LIVE, webhook, SURGING)  # the next hour's run retries it
    assert nxt == {"sent": 1, "statuses": {"dispatched": 1}}
    rows = outbox(seeded, model_id="model-000")
    assert rows[["hour", "status", "attempts"]].values.tolist() == [
        [at(9), "dispatched", 2],
        [at(10), "skipped", 0],  # the retry was coming: no second request beside it
    ]
    assert [p["key"] for p in webhook.posts] == ["model-000:20261101T09:scale_up"] * 2
