"""The demo incident's alerts, end to end through the pipeline, to real servers on loopback.

Hours of the incident day run through `run_local` (the DAG's steps) as scheduled runs, with four
receivers: the real Alertmanager (API v2), a real SMTP server, and the local Slack and webhook
receivers. One run's webhook answers 500, another run's Slack hangs past its timeout. Then:
exactly the expected alerts arrived, with their labels; nothing was lost (the failed ones were
retried on the next run); rerunning the hours sends nothing again; each resolve went once;
a backfill sends nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pandas as pd
import pytest

from modelwatch.alerting import lifecycle
from modelwatch.config import AlertsConfig, ChannelConfig, DeliveryConfig, Settings
from modelwatch.pipeline.runner import run_local
from modelwatch.run import RunMode
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import make_warehouse
from tests.integration.test_channels_servers import (  # noqa: F401  (fixtures)
    AM_CONN,
    alertmanager,
    receiver,
    slack_conn,
    smtp_conn,
    smtp_server,
    webhook_conn,
)

SCHEDULED = RunMode("scheduled", notify=True, dry_run=True)
BACKFILL = RunMode("backfill", notify=False, dry_run=True)
HOURS = range(8, 15)  # the surge (model-000) fires and resolves; the leak (model-003) too
RECEIVERS = ("am", "hook", "slack", "mail")
HEALTHY = {"model-007", "model-008", "model-009"}


def at(h: int):
    return DEMO_DAY + timedelta(hours=h)


def settings() -> Settings:
    return Settings(
        alerts=AlertsConfig(
            receivers=RECEIVERS,
            channels={
                "am": ChannelConfig(type="alertmanager", conn_id="modelwatch_alertmanager"),
                "hook": ChannelConfig(type="webhook", conn_id="mw_it_hook", timeout_s=1),
                "slack": ChannelConfig(type="slack", conn_id="mw_it_slack", timeout_s=1),
                "mail": ChannelConfig(
                    type="email", conn_id="mw_it_smtp", to=("oncall@example.org",)
                ),
            },
            delivery=DeliveryConfig(retries=1, backoff_s=0.0),
            runbook_url="https://runbooks.example.org/{model_id}",
            plot_hours=12,
        )
    )


def table(spec, sql: str, **params) -> pd.DataFrame:
    with open_warehouse(spec) as wh:
        return wh.query(sql, params)


def expected_events(spec, cfg: AlertsConfig) -> set[tuple[str, str]]:
    """(alert_id, event) of every hour run, from the stored episodes (the lifecycle's output)."""
    eps = table(spec, "SELECT * FROM mw_alerts")
    episodes = [
        lifecycle.Episode(
            r.model_id,
            r.kind,
            pd.Timestamp(r.opened_hour).to_pydatetime(),
            pd.Timestamp(r.last_signal_hour).to_pydatetime(),
            None if pd.isna(r.resolved_hour) else pd.Timestamp(r.resolved_hour).to_pydatetime(),
            None if pd.isna(r.peak_score) else float(r.peak_score),
            r.explanation,
        )
        for r in eps.itertuples(index=False)
    ]
    return {(e.alert_id, e.event) for h in HOURS for e in lifecycle.events_at(episodes, at(h), cfg)}


@pytest.fixture(scope="module")
def incident(tmp_path_factory, fleet, alertmanager, receiver, smtp_server):  # noqa: F811
    root = tmp_path_factory.mktemp("incident")
    spec = make_warehouse(f"duckdb:///{root}/w.duckdb", fleet)
    receiver.reset()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(AM_CONN, alertmanager.url)
        mp.setenv("AIRFLOW_CONN_MW_IT_HOOK", webhook_conn(receiver))
        mp.setenv("AIRFLOW_CONN_MW_IT_SLACK", slack_conn(receiver))
        mp.setenv("AIRFLOW_CONN_MW_IT_SMTP", smtp_conn(smtp_server))
        mp.setenv("MODELWATCH_REPORT_DIR", str(root / "reports"))
        cfg = settings()
        mails_before = len(smtp_server.messages)
        am_after: dict[int, dict] = {}
        for h in HOURS:
            if h == HOURS[0]:
                receiver.fail["/hook"] = 100  # the webhook is down for this whole run
            if h == HOURS[0] + 1:
                receiver.fail.clear()
                receiver.hang["/services"] = 100  # Slack hangs for this whole run
            if h == HOURS[0] + 2:
                receiver.hang.clear()
            run_local(at(h), spec, cfg, SCHEDULED, run_id=f"scheduled__{h}")
            am_after[h] = alertmanager.by_alert_id()
        first = {
            "ledger": table(spec, "SELECT * FROM mw_notifications ORDER BY notification_id"),
            "attempts": table(spec, "SELECT * FROM mw_notification_attempts ORDER BY attempt_id"),
            "accepted": list(receiver.accepted),
            "mails": smtp_server.messages[mails_before:],
            "am_alerts": alertmanager.alerts(),
        }
        for h in (14, 12, 9, 8):  # hours again, out of order, as retries or an operator would
            run_local(at(h), spec, cfg, SCHEDULED, run_id=f"scheduled__{h}__again")
        again = {
            "ledger": table(spec, "SELECT * FROM mw_notifications ORDER BY notification_id"),
            "attempts": table(spec, "SELECT * FROM mw_notification_attempts ORDER BY attempt_id"),
            "accepted": list(receiver.accepted),
            "mails": smtp_server.messages[mails_before:],
            "am_alerts": alertmanager.alerts(),
        }
        yield {
            "spec": spec,
            "cfg": cfg,
            "first": first,
            "again": again,
            "am_after": am_after,
            "root": root,
            "expected": expected_events(spec, cfg.alerts),
        }


def test_expected_alerts_are_the_incidents(incident) -> None:
    expected = incident["expected"]
    models = {aid.split(":")[0] for aid, _ in expected}
    assert {"model-000", "model-003"} <= models
    assert not models & HEALTHY
    assert ("model-000:anomaly:20261101T09", "resolved") in expected or any(
        aid.startswith("model-000") and ev == "resolved" for aid, ev in expected
    )


def test_every_receiver_got_exactly_the_expected_events_once(incident) -> None:
    ledger = incident["first"]["ledger"]
    expected = incident["expected"]
    for r in RECEIVERS:
        rows = ledger[ledger["receiver"] == r]
        assert set(rows["state"]) == {"sent"}, rows[rows["state"] != "sent"]
        assert set(zip(rows["alert_id"], rows["event"], strict=True)) == expected
        assert rows["notification_id"].is_unique
    # the webhook's own log: each expected event accepted exactly once
    hook = Counter()
    for path, body in incident["first"]["accepted"]:
        if path.startswith("/hook"):
            for a in body["alerts"]:
                hook[(a["labels"]["alert_id"], a["annotations"]["event"])] += 1
    assert set(hook) == expected
    assert set(hook.values()) == {1}
    # Slack: one accepted message per run that had something to say, naming every event
    slack = [b for p, b in incident["first"]["accepted"] if p.startswith("/services")]
    text = "\n".join(b["text"] for b in slack)
    for aid, _ in expected:
        assert aid.split(":")[0] in text


def test_the_failed_channels_were_retried_next_run_and_lost_nothing(incident) -> None:
    ledger = incident["first"]["ledger"].set_index(["receiver", "notification_id"])
    attempts = incident["first"]["attempts"]
    first_hour = at(HOURS[0])
    hook_first = ledger.loc["hook"]
    hook_first = hook_first[hook_first["hour"] == first_hour]
    assert len(hook_first) >= 1
    # two tries in the failing run (retries=1), the third in the next run succeeded
    assert set(hook_first["attempts"]) == {3}
    tried = attempts[attempts["notification_id"].isin(hook_first.index)]
    assert sorted(tried.groupby("notification_id")["ok"].apply(list).map(tuple).unique()) == [
        (False, False, True)
    ]
    slack_second = ledger.loc["slack"]
    slack_second = slack_second[slack_second["hour"] == at(HOURS[0] + 1)]
    assert len(slack_second) >= 1
    assert set(slack_second["attempts"]) == {3}
    details = attempts[attempts["notification_id"].isin(slack_second.index) & ~attempts["ok"]][
        "detail"
    ]
    assert details.str.contains("(?i)timed? ?out").all()
    # the other receivers were not held up by the failing ones
    for r in ("am", "mail"):
        assert set(ledger.loc[r]["attempts"]) == {1}


def test_rerunning_the_hours_sends_nothing_and_changes_no_row(incident) -> None:
    first, again = incident["first"], incident["again"]
    pd.testing.assert_frame_equal(first["ledger"], again["ledger"])
    pd.testing.assert_frame_equal(first["attempts"], again["attempts"])
    assert again["accepted"] == first["accepted"]
    assert len(again["mails"]) == len(first["mails"])
    assert sorted(a["labels"]["alert_id"] for a in again["am_alerts"]) == sorted(
        a["labels"]["alert_id"] for a in first["am_alerts"]
    )


def test_alertmanager_holds_the_firing_alerts_with_labels_and_drops_resolved(incident) -> None:
    spec = incident["spec"]
    models = table(spec, "SELECT model_id, team, tier FROM models").set_index("model_id")
    eps = table(spec, "SELECT * FROM mw_alerts").set_index("alert_id")
    am = incident["am_after"]
    for h in HOURS:
        firing = {
            aid
            for aid, r in eps.iterrows()
            if r.opened_hour <= at(h) and (pd.isna(r.resolved_hour) or r.resolved_hour > at(h))
        }
        assert set(am[h]) == firing, h
    last = am[HOURS[-1]]
    for a in last.values():
        labels = a["labels"]
        m = labels["model_id"]
        assert labels["team"] == models.loc[m, "team"]
        assert labels["tier"] == models.loc[m, "tier"]
        assert labels["alertname"] == "ModelwatchAnomaly"
        assert labels["severity"] in ("warning", "critical")
        assert a["annotations"]["runbook_url"] == f"https://runbooks.example.org/{m}"
        assert a["annotations"]["top_metrics"]
    resolved = [aid for aid in eps.index if not pd.isna(eps.loc[aid, "resolved_hour"])]
    assert resolved and not set(resolved) & set(last)
    assert len(incident["again"]["am_alerts"]) == len(
        {a["fingerprint"] for a in incident["again"]["am_alerts"]}
    )


def test_each_resolve_went_once_per_receiver(incident) -> None:
    ledger = incident["first"]["ledger"]
    resolves = ledger[ledger["event"] == "resolved"]
    assert len(resolves) >= len(RECEIVERS)
    assert resolves.groupby(["alert_id", "receiver"]).size().eq(1).all()
    assert "model-000" in set(resolves["model_id"])


def test_emails_carry_the_content_and_the_plot(incident) -> None:
    mails = incident["first"]["mails"]
    assert mails
    firing = [m for m in mails if "firing" in m["Subject"]]
    assert firing
    # SmtpHook attaches files as application/octet-stream parts named after the file
    pngs = [p for m in mails for p in m.walk() if (p.get_filename() or "").endswith(".png")]
    assert pngs and all(p.get_payload(decode=True).startswith(b"\x89PNG") for p in pngs)
    html = "".join(
        p.get_payload(decode=True).decode()
        for m in mails
        for p in m.walk()
        if p.get_content_type() == "text/html"
    )
    assert "vs baseline" in html and "/dags/model_health/runs/scheduled__" in html
    reports = list((incident["root"] / "reports").glob("*/alerts.md"))
    assert reports and list((incident["root"] / "reports").glob("*/*.png"))


def test_a_backfill_sends_nothing_and_records_what_it_would_have(
    incident,
    receiver,  # noqa: F811
    smtp_server,  # noqa: F811
    alertmanager,  # noqa: F811
) -> None:
    spec, cfg = incident["spec"], incident["cfg"]
    before = (len(receiver.accepted), len(smtp_server.messages), len(alertmanager.alerts()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(AM_CONN, alertmanager.url)
        run_local(at(HOURS[-1] + 1), spec, cfg, BACKFILL, run_id="backfill__x")
    after = (len(receiver.accepted), len(smtp_server.messages), len(alertmanager.alerts()))
    assert after == before
    rows = table(spec, "SELECT * FROM mw_notifications WHERE hour = :h", h=at(HOURS[-1] + 1))
    assert len(rows) and set(rows["state"]) == {"suppressed"}
    assert rows["detail"].str.startswith("backfill").all()
    assert set(rows["receiver"]) == set(RECEIVERS)
    # what it would have sent is reviewable: the hour's report, with its alerts' plots
    folder = incident["root"] / "reports" / f"{at(HOURS[-1] + 1):%Y%m%dT%H}"
    assert (folder / "report.html").exists()
