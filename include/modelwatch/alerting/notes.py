"""The hour's alert notes (`alerts.md` in its report folder): a short Markdown record of the
hour's alert events and what became of each notification, beside the HTML report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from modelwatch.alerting import lifecycle
from modelwatch.alerting.ledger import event_key
from modelwatch.folders import hour_key
from modelwatch.links import ALERT_NOTES, REPORT_HTML
from modelwatch.run import Run
from modelwatch.storage import StorePath, write_text_atomically
from modelwatch.untrusted import markdown_text


def write_alert_notes(
    folder: StorePath,
    run: Run,
    notes: pd.DataFrame,
    events: list[lifecycle.AlertEvent],
    unknown: list[str],
) -> None:
    """A short Markdown record of the hour's alert events and what became of them."""
    folder.mkdir(parents=True, exist_ok=True)
    md = markdown_text  # ids, details and summaries come from outside: never markup
    lines = [f"# Alerts for {run.hour:%Y-%m-%d %H:00} UTC", "", f"run {md(run.run_id)}", ""]
    lines += [f"The hour's findings and plots: [report.html]({REPORT_HTML})", ""]
    if unknown:
        names = ", ".join(md(m) for m in unknown)
        lines += [f"Unknown model ids (never seen in the warehouse, not paged): {names}", ""]
    by_key = {event_key(e): e for e in events}
    for r in notes.sort_values(["alert_id", "receiver"]).itertuples(index=False):
        e = by_key.get(f"{r.alert_id}:{r.event}:{hour_key(pd.Timestamp(r.hour))}")
        what = f"{md(r.alert_id)} -> {md(r.receiver)}: {md(r.state)} ({md(r.detail)})"
        lines.append(f"- **{md(r.event)}** {what}")
        if e is not None:
            lines.append(f"  - {md(e.summary)}")
            if e.links.get("plot_path"):
                lines.append(f"  - ![plot]({Path(e.links['plot_path']).name})")
    write_text_atomically(folder / ALERT_NOTES, "\n".join(lines) + "\n")
