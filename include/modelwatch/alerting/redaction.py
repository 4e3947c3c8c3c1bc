"""Keeping channel secrets out of the ledger, the reports and the logs.

A webhook's secret is often its URL (Slack, most chat and paging webhooks put the token in the
path), so a channel error or a library's debug line that prints the URL leaks it. Two layers:
`redact` rewrites any text we store or log (every secret registered when a connection was read,
see `modelwatch.connections`, plus the shapes of URLs, credentials and tokens), and
`protect_loggers` keeps the HTTP libraries under the channels from writing URLs at all.
"""

from __future__ import annotations

import logging
import re

from modelwatch.connections import registered_secrets

_SECRETS = (
    (re.compile(r"://[^/\s:@]+:[^/\s@]+@"), "://***@"),  # user:password@ in a URL
    (re.compile(r"/services/[A-Za-z0-9/_-]+"), "/services/***"),  # a Slack webhook's token
    (re.compile(r"(?i)(token|password|secret|api[_-]?key)=[^&\s]+"), r"\1=***"),
    # the path and query of any URL: webhook tokens live there (the host stays, to debug with)
    (re.compile(r"(?i)(https?://[^/\s'\"<>]+)/(?!services/\*\*\*)[^\s'\"<>]*"), r"\1/***"),
    (re.compile(r"(?i)(with url: )\S+"), r"\1***"),  # urllib3/requests name the path alone
)


def redact(text: str) -> str:
    """Text fit for the ledger, a report or a log: registered secrets and URL paths masked."""
    for secret in sorted(registered_secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    for pattern, repl in _SECRETS:
        text = pattern.sub(repl, text)
    return text


#: Loggers under the channels that print request URLs (HttpHook and slack_sdk at debug/info,
#: requests' ConnectionError text at warning, urllib3's request lines at debug).
URL_LOGGERS = (
    "airflow.task.hooks.airflow.providers.http.hooks.http.HttpHook",
    "airflow.task.hooks.airflow.providers.slack.hooks.slack_webhook.SlackWebhookHook",
    "airflow.providers.http",
    "slack_sdk",
    "slack_sdk.webhook.client",
    "urllib3",
    "urllib3.connectionpool",
)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and drops its traceback) through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its template
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            record.msg += f" ({redact(str(record.exc_info[1]))})"
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = RedactingFilter()


def protect_loggers() -> None:
    """Quiet the URL-printing loggers to ERROR and redact what they still write.

    Their own level is raised (slack_sdk checks the logger's own level before its debug line),
    and the filter sits on each of them (a logger's filters apply to its own records only)."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.ERROR:
            logger.setLevel(logging.ERROR)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
