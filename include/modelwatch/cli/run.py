"""`modelwatch run | demo`: process hours without Airflow, or the demo day through Airflow.

    modelwatch run --from 2026-11-01T09:00Z [--to 2026-11-01T12:00Z] [--model M ...]

stdout: one summary line per hour, nothing else (logs go to stderr). Everything that can be
refused is refused before the warehouse is touched: the settings (a receiver typo), the range
(empty, reversed, not over yet) and the model ids (never reported, unless `--allow-new`).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from modelwatch.cli.common import (
    add_allow_new_arg,
    add_warehouse_arg,
    refuse_unknown_models,
    settings_of,
    spec_from_args,
)
from modelwatch.cli.ranges import add_range, deprecated_flag, run_hours
from modelwatch.run import HOUR, check_hour_ended, parse_hour


def cmd_run(args: argparse.Namespace) -> int:
    """Process hours without Airflow (same steps as the DAG)."""
    from modelwatch.pipeline.runner import run_local
    from modelwatch.run import RunMode

    settings = settings_of(args)
    start, end = run_hours(args, parse_hour)
    check_hour_ended(end - HOUR, datetime.now(UTC))  # the CLI is an edge: the wall clock is "now"
    spec = spec_from_args(args)
    refuse_unknown_models(spec, settings, args.model or (), args.allow_new)
    mode = RunMode("manual", notify=args.notify, dry_run=not args.live)
    h = start
    while h < end:
        print(run_local(h, spec, settings, mode, args.model or None)["line"], flush=True)
        h += HOUR
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from modelwatch.cli.demo import run_demo

    return run_demo(
        day=parse_hour(args.day) if args.day else None,
        n_models=args.models,
        hours=args.hours,
    )


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = sub.add_parser("run", help="process hours without Airflow")
    add_warehouse_arg(sp)
    add_range(sp, "hour", "2026-11-01T09:00Z", "default: one hour after --from")
    deprecated_flag(sp, "--hour", "hour", "use --from H (one hour)")
    deprecated_flag(sp, "--until", "until", "use --to U+1h (--to is exclusive)")
    sp.add_argument("--model", action="append", help="only this model (repeatable)")
    add_allow_new_arg(sp)
    sp.add_argument("--notify", action="store_true", help="send notifications")
    sp.add_argument("--live", action="store_true", help="dispatch remediation (not dry run)")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser(
        "demo", help="seed the demo warehouse and run the DAG over the incident day"
    )
    sp.add_argument("--models", type=int, default=24)
    sp.add_argument("--day", help="first hour to run (default: the simulated incident day)")
    sp.add_argument("--hours", type=int, default=24)
    sp.set_defaults(func=cmd_demo)
