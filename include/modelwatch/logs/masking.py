"""Deterministic masking of the variable parts of a log line, and of secrets.

Why: a template miner groups lines by their constant words; numbers, ids, addresses, paths and
durations would otherwise split one message into thousands. Masking before mining also makes
an unmatched line's signature deterministic (its masked text), whatever order hours run in.
Secrets are replaced before a line is stored or shown anywhere.
"""

from __future__ import annotations

import re

PARAM = "<*>"

#: Secrets first (before any other rule can cut them up): key=value and bearer tokens.
_SECRETS = (
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|authorization"
            r"|auth|credentials?)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
        ),
        r"\1\2***",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer ***"),
    (re.compile(r"(?i)(\w+://[^/\s:@]+:)[^@\s/]+@"), r"\1***@"),
)

#: Variable shapes, most specific first. Each becomes one `<*>` token.
_RULES: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b\w+://\S+"),  # URLs
    re.compile(r"\"[^\"]{0,200}\"|'[^'\s][^']{0,200}'"),  # quoted strings
    re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"),  # IPv4[:port]
    re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"),  # IPv6 (full-ish)
    re.compile(r"\b(?:[0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}\b"),  # MAC
    re.compile(r"(?<![\w/])(?:[A-Za-z]:)?(?:/[\w.$@%+-]+){2,}/?"),  # paths
    re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"),
    re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"),  # times
    re.compile(r"\b0x[0-9a-fA-F]+\b"),  # hex literals
    re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"),  # hashes, ids
    re.compile(
        r"(?<![A-Za-z])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?:ns|us|µs|ms|s|m|h|d|%|kb|mb|gb|"
        r"KB|MB|GB|KiB|MiB|GiB|B)?(?![A-Za-z])"
    ),  # numbers, durations, sizes
    re.compile(r"\b[A-Za-z]+[_-]?\d+[\w-]*\b"),  # ids with a digit: blk_123, req-42a, node7
)
_SPACE = re.compile(r"\s+")


def mask_secrets(text: str) -> str:
    """The line with passwords, tokens and URL credentials replaced by `***`."""
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


def mask(text: str) -> str:
    """The line's masked form: secrets hidden, variable parts `<*>`, whitespace single."""
    text = mask_secrets(text)
    for pattern in _RULES:
        text = pattern.sub(PARAM, text)
    return _SPACE.sub(" ", text).strip()


def tokens(masked: str) -> list[str]:
    return masked.split(" ") if masked else []
