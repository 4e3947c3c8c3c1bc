"""Log text made safe at the input edge, before anything is mined, stored or shown.

Log lines come from code we do not own, and what is read here ends up in hint text, example
lines, incident pages and messages to on-call:
- ANSI escape sequences and control characters (NUL, BEL, backspace, carriage return, C1
  controls, bidirectional overrides) are removed, so a line cannot recolour a terminal, hide
  text or reorder what a reader sees; tab and newline stay.
- A lone surrogate (valid in JSON, `"\\ud800"`, but not encodable) in a text field other than
  the message is replaced by U+FFFD, so one bad record cannot fail the warehouse insert of
  the hour; a message holding one is rejected as `invalid_utf8` by `clean`.
- A message longer than `max_chars` has its tail cut (and is counted as `truncated`), so no
  line can make masking or matching slow.
Every step is linear in the text's length.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b(?:\[[0-?]*+[ -/]*+[@-~]?|\][^\x07\x1b]*+(?:\x07|\x1b\\)?|[@-Z\\-_]?)")
#: C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_DROP = dict.fromkeys(
    [c for c in range(0x20) if c not in (0x09, 0x0A)]
    + list(range(0x7F, 0xA0))
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """`text` without ANSI escapes and control characters (tab and newline kept)."""
    if _CONTROL.search(text) is None:
        return text
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    return text.translate(_DROP)


def has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def safe_text(value: object, max_chars: int = 200) -> object:
    """A short text field (level, logger, trace id, model id) fit to store: controls stripped,
    lone surrogates replaced, at most `max_chars`. Anything not a string is returned as is."""
    if not isinstance(value, str):
        return value
    value = value[: max_chars * 2]
    if has_surrogate(value):
        value = _SURROGATE.sub("\ufffd", value)
    return strip_controls(value)[:max_chars]


def cut(message: str, max_chars: int) -> tuple[str, bool]:
    """(the message with its tail cut at `max_chars` and controls stripped, whether cut)."""
    cut_it = len(message) > max_chars
    if cut_it:
        message = message[:max_chars]
    return strip_controls(message), cut_it
