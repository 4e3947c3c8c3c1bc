"""Text from outside, made harmless where it is shown: one function per output format.

Model ids, summaries (which carry model ids, actors and baseline-accept reasons), hint texts
(log templates, change details) and labels come from systems we do not control. Two layers:

- at the input edge, `strip_control` drops what no output should ever carry: ANSI escape
  sequences, NUL and the other control characters (CR and LF forge log lines and e-mail
  headers), and the bidirectional overrides that make text display other than it reads;
- at the channel, each output format escapes every piece of such text with its own function
  (`slack_text`, `html_text`, `header_text`, `plain_text`, `markdown_text`), and only then
  adds its markup.
  Links we build go through `slack_link` / `html_href`. Each format strips control characters
  again, so text that skipped an input edge is still safe.

Plain text (Alertmanager annotations and labels, webhook payloads, the task log) is rendered
downstream by templates we do not see (Alertmanager's Slack receiver puts annotations into
mrkdwn unescaped), so `<` and `>` become the look-alike quotation marks `‹` and `›`: no
renderer reads a mention, a link or a tag in them.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

#: ANSI CSI sequences (colours, cursor moves), OSC sequences (terminal titles, hyperlinks) and
#: two-character escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
#: C0 and C1 controls (tab, CR and LF included), DEL, the line/paragraph separators and the
#: bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_SPACES = re.compile(r" {2,}")
#: What a link we show may point to; anything else (javascript:, data:) is shown as text.
_SCHEMES = ("http://", "https://", "mailto:")


def strip_control(text: object) -> str:
    """`text` on one line: escape sequences removed, every run of control characters one space
    (so 'a\\r\\nb' stays two words), runs of spaces collapsed, ends trimmed."""
    s = _ANSI.sub("", str(text))
    s = _CONTROL.sub(" ", s)
    return _SPACES.sub(" ", s).strip()


def slack_text(text: object) -> str:
    """Slack mrkdwn: `&`, `<` and `>` as entities, as Slack's formatting reference asks, so no
    `<!channel>`, `<@U...>` or `<url|label>` in the text is read as a mention or a link."""
    s = strip_control(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: object) -> str | None:
    """A URL fit to be a link: an http(s) or mailto URL, with whitespace, quotes, angle
    brackets and `|` percent-encoded; None for anything else."""
    s = strip_control(url)
    if not s.lower().startswith(_SCHEMES):
        return None
    return quote(s, safe="/:?#[]@!$&'()*+,;=%~-._")


def slack_link(url: object, label: str) -> str:
    """`<url|label>` for a link we built; an unusable URL is shown as escaped text instead."""
    good = safe_url(url)
    if good is None:
        return f"{slack_text(label)}: {slack_text(url)}"
    return f"<{good.replace('&', '&amp;')}|{slack_text(label)}>"


def html_text(text: object) -> str:
    """HTML text or attribute value: `& < > " '` as entities."""
    return html.escape(strip_control(text), quote=True)


def html_href(url: object) -> str | None:
    """An `href` value, escaped; None when the URL is not http(s) or mailto."""
    good = safe_url(url)
    return None if good is None else html.escape(good, quote=True)


def header_text(text: object) -> str:
    """An e-mail header value: one line (a CR or LF in a model id cannot start a header, nor
    make the mail library refuse the whole message)."""
    return strip_control(text)


def plain_text(text: object) -> str:
    """Plain text for renderers we do not see: one line, `<` and `>` as `‹` and `›`."""
    return strip_control(text).replace("<", "\u2039").replace(">", "\u203a")


#: Characters Markdown gives a meaning to (emphasis, code, links, images, headings, tables).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def markdown_text(text: object) -> str:
    """Markdown text: one line, every character Markdown reads as markup escaped with a
    backslash, so a model id cannot open a link, an image or a code span."""
    return _MARKDOWN.sub(r"\\\1", strip_control(text))
