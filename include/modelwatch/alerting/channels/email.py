"""Email over SMTP, through the SMTP provider's `SmtpHook` (connection type `smtp`; host,
port, login and password in the connection, `from_email`, `disable_tls`, `disable_ssl`,
`timeout` and `retry_limit` in its extra). One message per run and receiver, with each
alert's plot attached.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modelwatch.alerting.channels.base import describe, read_secrets, title
from modelwatch.alerting.delivery import Delivery
from modelwatch.alerting.lifecycle import RESOLVED, AlertEvent
from modelwatch.config import ChannelConfig
from modelwatch.untrusted import header_text, html_href, html_text

DEFAULT_FROM = "modelwatch@localhost"


def subject(events: Sequence[AlertEvent]) -> str:
    """One header line: a CR or LF in a model id neither starts a header nor makes the mail
    library refuse the message (and lose every alert of the batch)."""
    firing = [e for e in events if e.event != RESOLVED]
    worst = "CRITICAL" if any(e.severity == "critical" for e in firing) else "WARNING"
    if not firing:
        return f"[modelwatch] {len(events)} alert(s) resolved"
    names = ", ".join(sorted({e.model_id for e in firing})[:5])
    return header_text(f"[modelwatch {worst}] {len(firing)} firing: {names}")


def body_html(events: Sequence[AlertEvent]) -> str:
    """Every piece of text escaped (`html_text`); links only to http(s)/mailto URLs."""
    parts = ["<html><body>"]
    for e in events:
        f = describe(e)
        parts.append(f"<h3>{html_text(title(e))}</h3><ul>")
        for key in ("summary", "since", "score", "top_metrics", "resolved"):
            if key in f:
                parts.append(f"<li><b>{key}</b>: {html_text(f[key])}</li>")
        if e.hints:
            items = "".join(f"<li>{html_text(h)}</li>" for h in e.hints[:3])
            parts.append(f"<li><b>hints</b>:<ol>{items}</ol></li>")
        for key in ("runbook_url", "run_url", "plot_url"):
            if key in f:
                href = html_href(f[key])
                link = f'<a href="{href}">{href}</a>' if href else html_text(f[key])
                parts.append(f"<li><b>{key}</b>: {link}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "".join(parts)


class EmailNotifier:
    def __init__(self, name: str, ch: ChannelConfig) -> None:
        self.name = name
        self.ch = ch

    def send(self, events: Sequence[AlertEvent]) -> Delivery:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        read_secrets(self.ch.conn_id or "smtp_default")
        files = [
            e.links["plot_path"]
            for e in events
            if e.links.get("plot_path") and Path(e.links["plot_path"]).is_file()
        ]
        with SmtpHook(smtp_conn_id=self.ch.conn_id or "smtp_default") as hook:
            hook.send_email_smtp(
                to=list(self.ch.to),
                subject=subject(events),
                html_content=body_html(events),
                from_email=hook.from_email or DEFAULT_FROM,
                files=sorted(set(files)),
            )
        return Delivery(True, f"mailed {len(events)} alert event(s), {len(set(files))} plot(s)")
