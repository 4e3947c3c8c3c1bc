"""The same hostile strings, as model ids, summaries, titles, baseline-accept reasons, labels and
hint texts, through every channel: one test per output format, each against the server the
channel tests use (test_channels_servers.py): a real Alertmanager, a real SMTP server
(aiosmtpd), and the loopback receiver that implements Slack's incoming-webhook contract (a fake:
Slack cannot run here) and Alertmanager's webhook payload. Whatever the text, the batch is
delivered whole, nothing in it mentions, links, tags or starts a header, and the text itself is
still there to read."""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import datetime
from email.header import decode_header, make_header
from html.parser import HTMLParser
from typing import Any

from modelwatch.alerting.channels import build
from modelwatch.alerting.delivery import get_notifier
from modelwatch.alerting.lifecycle import FIRING, AlertEvent
from modelwatch.config import ChannelConfig
from modelwatch.untrusted import plain_text, strip_control
from tests.integration import test_channels_servers as servers
from tests.integration.test_channels_servers import (
    AM_CONN,
    EXPLANATION,
    HOUR,
    Alertmanager,
    Mailbox,
    Receiver,
    slack_conn,
    smtp_conn,
    webhook_conn,
)

#: The real servers of the channel tests, started once for this module too.
alertmanager, receiver, smtp_server = servers.alertmanager, servers.receiver, servers.smtp_server

HOSTILE = (
    "<!channel> wake up",
    "<!here|here> and <!everyone> and <!subteam^S0123>",
    "<@U024BE7LH> and <#C024BE7LR>",
    "<https://evil.example/login|runbook>",
    "a & b &amp; &lt;x&gt;",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "m\r\nBcc: victim@evil.example",
    "m\nX-Injected: yes\n\n<b>body</b>",
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07",
    "nul\x00byte\x07bell\x7fdel\x85nel",
    "line\u2028sep \u202eevil\u202c",
    "*bold* _it_ ~strike~ `code` > quote",
    '{{ .CommonLabels }} {{ template "x" }}',
)
RUNBOOK = "https://runbooks.example.org/x"
RUN_URL = "http://af/run"
#: Lines of a Slack section: title, summary, top metrics, two hints, links.
SECTION_LINES = 6
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]")


def hostile_event(i: int, s: str) -> AlertEvent:
    """An alert whose every outside text is `s`: the model id (so the title and alert id), a
    summary with an operator's baseline-accept reason, the team and owner labels, two hints."""
    return AlertEvent(
        f"{s}:anomaly:20261101T08",
        s,
        "anomaly",
        FIRING,
        "warning",
        HOUR,
        f"{s}: resolved: baseline moved: accepted as normal by {s} ({s}). Was: score 0.99",
        opened_hour=datetime(2026, 11, 1, 8),
        score=0.99,
        detail=EXPLANATION,
        label_severity="warning",
        labels={"model_id": s, "team": s, "tier": "critical", "owner": s},
        links={"runbook_url": RUNBOOK, "run_url": RUN_URL},
        hints=(f"new ERROR {s}", f"deploy C{i} at 07:50: {s} by {s}"),
    )


EVENTS = [hostile_event(i, s) for i, s in enumerate(HOSTILE)]


def readable(s: str) -> str:
    """What a reader must still find of `s`: its text without control characters."""
    return strip_control(s)


# ---------------------------------------------------------------------------- Slack mrkdwn
def test_slack_mrkdwn_mentions_and_links_nothing_but_our_links(receiver: Receiver, monkeypatch):
    receiver.reset()
    monkeypatch.setenv("AIRFLOW_CONN_MW_SLACK", slack_conn(receiver))
    slack = build("slack", ChannelConfig(type="slack", conn_id="mw_slack", timeout_s=5))
    assert slack.send(EVENTS).ok
    (body,) = receiver.bodies("/services/")
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert len(sections) == len(HOSTILE)
    ours = {f"<{RUNBOOK}|runbook>", f"<{RUN_URL}|run>"}
    for text in [body["text"], *sections]:
        assert set(re.findall(r"<[^>]*>", text)) <= ours, text
        assert not CONTROL.search(text.replace("\n", "")), repr(text)
    for s, text in zip(HOSTILE, sections, strict=True):
        assert len(text.split("\n")) == SECTION_LINES, text  # no line of the text's own
        assert readable(s) in html.unescape(text)
    # the fallback text: the head line, then per alert its title line and indented facts
    head, *lines = body["text"].split("\n")
    assert head == f"modelwatch: {len(HOSTILE)} firing, 0 resolved"
    assert all(line.startswith(("[WARNING] ", "    ")) for line in lines), lines


# ------------------------------------------------------------------- e-mail: HTML and headers
class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_email_html_and_headers_carry_the_text_and_nothing_else(
    smtp_server: Mailbox, monkeypatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MW_SMTP", smtp_conn(smtp_server))
    mail = build("mail", ChannelConfig(type="email", conn_id="mw_smtp", to=("oncall@example.org",)))
    before = len(smtp_server.messages)
    # the subject names the first five ids: once the whole list, once those with CR/LF first
    newlines = [e for e in EVENTS if "\n" in e.model_id]
    for batch in (EVENTS, newlines):
        assert mail.send(batch).ok  # one message for the whole batch, not lost
    assert len(smtp_server.messages) == before + 2
    for msg, batch in zip(smtp_server.messages[-2:], (EVENTS, newlines), strict=True):
        assert not {k.lower() for k in msg} & {"bcc", "x-injected"}
        subject = str(make_header(decode_header(msg["Subject"])))
        assert subject.startswith(f"[modelwatch WARNING] {len(batch)} firing: ")
        assert not CONTROL.search(subject), repr(subject)
    assert smtp_server.recipients[-2:] == [["oncall@example.org"]] * 2
    assert "Bcc: victim@evil.example" in subject  # the id, as text on the subject's line
    msg = smtp_server.messages[-2]
    page = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    parsed = Elements()
    parsed.feed(page.get_payload(decode=True).decode())
    assert {t for t, _ in parsed.tags} <= {"html", "body", "h3", "ul", "li", "b", "ol", "a"}
    for tag, attrs in parsed.tags:
        assert [k for k, _ in attrs] == (["href"] if tag == "a" else []), (tag, attrs)
    assert {v for t, a in parsed.tags for _, v in a} == {RUNBOOK, RUN_URL}
    text = "".join(parsed.text)
    assert not CONTROL.search(text), repr(text)
    for s in HOSTILE:
        assert f"{readable(s)} anomaly" in text  # the title
        assert f"accepted as normal by {readable(s)}" in text


# --------------------------------------------- plain text: Alertmanager, webhook, the task log
def inert(value: str) -> bool:
    """Plain text no downstream renderer reads markup or a new line in."""
    return not CONTROL.search(value) and "<" not in value and ">" not in value


def test_alertmanager_labels_and_annotations_are_inert_plain_text(
    alertmanager: Alertmanager, monkeypatch
) -> None:
    monkeypatch.setenv(AM_CONN, alertmanager.url)
    am = build("am", ChannelConfig(type="alertmanager", conn_id="modelwatch_alertmanager"))
    assert am.send(EVENTS).ok
    got = {a["labels"]["model_id"]: a for a in alertmanager.alerts()}
    for s in HOSTILE:
        alert = got[plain_text(s)]  # every alert arrived, each under its own labels
        values = [*alert["labels"].values(), *alert["annotations"].values()]
        assert all(inert(v) for v in values), values
        assert plain_text(s) in alert["annotations"]["summary"]
        assert alert["labels"]["team"] == alert["labels"]["owner"] == plain_text(s)
    assert len({plain_text(s) for s in HOSTILE}) == len(HOSTILE)  # still tells them apart


def test_webhook_payload_is_inert_plain_text(receiver: Receiver, monkeypatch) -> None:
    receiver.reset()
    monkeypatch.setenv("AIRFLOW_CONN_MW_HOOK", webhook_conn(receiver))
    hook = build("hook", ChannelConfig(type="webhook", conn_id="mw_hook", timeout_s=5))
    assert hook.send(EVENTS).ok
    (body,) = receiver.bodies("/hook")
    assert len(body["alerts"]) == len(HOSTILE)
    for s, alert in zip(HOSTILE, body["alerts"], strict=True):
        values: list[Any] = [*alert["labels"].values(), *alert["annotations"].values()]
        values.append(alert["fingerprint"])
        assert all(inert(v) for v in values), values
        assert plain_text(s) in alert["annotations"]["hints"]
    assert all(inert(v) for v in json.loads(json.dumps(body["commonLabels"])).values())


def test_the_log_channel_writes_one_inert_line_per_event(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="modelwatch.alerting.delivery"):
        assert get_notifier("log").send(EVENTS).ok
    lines = [r.getMessage() for r in caplog.records if r.name == "modelwatch.alerting.delivery"]
    assert len(lines) == len(HOSTILE)
    assert all(inert(line) for line in lines), lines
