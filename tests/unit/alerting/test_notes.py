"""The hour's alert notes (alerts.md) carry outside text escaped: a hostile model id or
summary cannot add a link, an image or a heading to the file the view serves."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from modelwatch.alerting.ledger import NOTIFICATION_COLUMNS
from modelwatch.alerting.lifecycle import AlertEvent
from modelwatch.alerting.notes import write_alert_notes
from modelwatch.config import Settings
from modelwatch.folders import Folders
from modelwatch.run import build_run
from modelwatch.warehouse import spec_from_uri

H = datetime(2026, 11, 1, 9)
EVIL = "m](http://evil.example/x) ![img](http://evil.example/p.png)\n# owned"


def test_hostile_ids_and_summaries_are_escaped(tmp_path: Path) -> None:
    run = build_run(
        H,
        Settings(),
        spec_from_uri(f"duckdb:///{tmp_path}/w.duckdb"),
        Folders(tmp_path / "s", tmp_path / "r"),
    )
    alert_id = f"{EVIL}:anomaly:20261101T09"
    e = AlertEvent(alert_id, EVIL, "anomaly", "firing", "warning", H, f"{EVIL}: anomaly")
    row = dict.fromkeys(NOTIFICATION_COLUMNS)
    row |= {"alert_id": alert_id, "event": "firing", "hour": H, "receiver": "log"}
    row |= {"state": "sent", "detail": "logged"}
    write_alert_notes(tmp_path / "n", run, pd.DataFrame([row]), [e], [EVIL])
    text = (tmp_path / "n" / "alerts.md").read_text()
    assert "](http" not in text and "![" not in text
    assert [ln for ln in text.splitlines() if ln.startswith("#")] == [
        "# Alerts for 2026-11-01 09:00 UTC"
    ]
