"""The `modelwatch` command: set up an Airflow home, simulate a fleet, seed a warehouse, run
hours, run the demo, check the setup, list alerts, manage silences, test a receiver, replay and
evaluate detection.

Every subcommand takes explicit times (`--from T0 --to T1`, T1 exclusive), so anything the DAG
does can be reproduced by hand. It scripts: stdout carries only the command's result (with
`--json`, exactly one JSON document), logs go to stderr (`-q` keeps only warnings), a failure
is a non-zero exit with one line per problem. Each group of subcommands lives in its own
module of this package.
"""

from __future__ import annotations

import argparse
import logging
import sys

from modelwatch.alerting.redaction import redact
from modelwatch.cli import (
    alerts,
    baseline,
    check,
    detect,
    fleet,
    init,
    logs,
    notify,
    run,
    silence,
    whatif,
)

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


class CurrentStderr:
    """Whatever `sys.stderr` is when a line is written (a redirect, a test's capture), not
    what it was when logging was set up; secrets and URL paths masked, whoever logs (the HTTP
    hook logs the URL it retries, a webhook's token in its path)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(redact(text))

    def flush(self) -> None:
        sys.stderr.flush()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modelwatch", description=__doc__)
    p.add_argument("--config", help="settings file (default: $MODELWATCH_CONFIG or built-in)")
    loud = p.add_mutually_exclusive_group()
    loud.add_argument("-v", "--verbose", action="store_true", help="debug logs, library logs")
    loud.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = p.add_subparsers(dest="command", required=True)
    groups = (init, fleet, run, check, alerts, silence, notify, detect, logs, whatif, baseline)
    for group in groups:
        group.add_commands(sub)
    return p


def setup_logging(verbose: bool, quiet: bool) -> None:
    """Every log line to stderr: ours at INFO (DEBUG with -v, WARNING with -q), the libraries'
    at WARNING (INFO with -v). Importing Airflow (which reading a connection does) configures
    its logging to stdout, so it is imported first and its handlers replaced here."""
    import airflow  # noqa: F401  (its import configures logging; ours must come after)
    import structlog

    theirs = logging.INFO if verbose else logging.WARNING
    ours = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=theirs, stream=CurrentStderr(), format=LOG_FORMAT, force=True)
    for name in ("airflow", "uvicorn.error", "gunicorn.error"):
        logging.getLogger(name).setLevel(theirs)
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("modelwatch").setLevel(ours)
    structlog.configure(logger_factory=structlog.WriteLoggerFactory(file=CurrentStderr()))


def fail(command: str, exc: BaseException) -> int:
    """One line per problem on stderr; exit status 2."""
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    for line in redact(text).splitlines() or [text]:
        if line.strip():
            print(f"modelwatch {command}: {line}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for note in dict.fromkeys(getattr(args, "deprecations", None) or ()):
        print(f"modelwatch {args.command}: warning: {note}", file=sys.stderr)
    setup_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except (ValueError, RuntimeError, LookupError, OSError) as exc:
        return fail(args.command, exc)


if __name__ == "__main__":
    sys.exit(main())
