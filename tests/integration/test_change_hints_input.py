"""Declared changes read from the warehouse: a `timestamptz` `ts` column is read as naive UTC
(the alert's hints are found, not dropped by a TypeError), and a change's text reaches on-call
with its secrets masked and without control characters."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from modelwatch.config import Settings
from modelwatch.hints.changes import change_hints
from modelwatch.hints.model import AlertRef
from modelwatch.hints.tables import load_changes
from modelwatch.warehouse import open_warehouse

H = datetime(2026, 11, 1, 10)
NO_DEPLOYS = pd.DataFrame(columns=["model_id", "ts", "old", "new"])
NO_ACTIONS = pd.DataFrame(columns=["request_id", "model_id", "hour", "action", "status"])
DETAIL = "rolled out\r\nBcc: x@evil.example \x1b[31mred\x1b[0m\x07 password=hunter2 token: abc123"


def test_timestamptz_changes_are_hinted_with_their_detail_masked(new_warehouse) -> None:
    spec = new_warehouse()
    with open_warehouse(spec) as wh:
        zoned = "timestamptz" if wh.dialect == "postgres" else "TIMESTAMPTZ"
        wh.execute(
            f"CREATE TABLE model_changes (change_id VARCHAR, ts {zoned}, model_id VARCHAR, "
            "selector VARCHAR, kind VARCHAR, detail VARCHAR, actor VARCHAR)"
        )
        # 09:50 UTC written as 11:50 in Paris: the same instant
        wh.execute(
            "INSERT INTO model_changes VALUES ('C1', CAST('2026-11-01 11:50:00+02:00' AS "
            f"{zoned}), 'm1', NULL, 'deploy', :d, 'ci\nbot')",
            {"d": DETAIL},
        )
        got = load_changes(wh, Settings(), H - timedelta(hours=6), H + timedelta(hours=1))
    assert got["ts"].tolist() == [pd.Timestamp("2026-11-01 09:50")]
    ref = AlertRef("m1:anomaly:x", "m1", "anomaly", H, H)
    (hint,) = change_hints(ref, got, NO_DEPLOYS, NO_ACTIONS, {}, timedelta(hours=6))
    assert hint.kind == "deploy" and "at 09:50" in hint.summary
    for text in (hint.summary, hint.evidence["detail"]):
        assert "hunter2" not in text and "abc123" not in text
        assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in text), repr(text)
        assert "[31m" not in text
    assert hint.evidence["actor"] == "ci bot"
    assert hint.summary.startswith("deploy C1 at 09:50: rolled out Bcc: x@evil.example red")
