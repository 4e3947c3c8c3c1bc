"""`modelwatch run | demo`: process hours without Airflow, or the demo day through Airflow."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from modelwatch.cli.common import add_warehouse_arg, spec_from_args
from modelwatch.run import check_hour_ended, parse_hour


def cmd_run(args: argparse.Namespace) -> int:
    """Process hours without Airflow (same steps as the DAG)."""
    from modelwatch.config import load_settings
    from modelwatch.pipeline.runner import run_local
    from modelwatch.run import RunMode

    settings = load_settings(args.config)
    spec = spec_from_args(args)
    start = parse_hour(args.hour)
    end = parse_hour(args.until) if args.until else start
    check_hour_ended(end, datetime.now(UTC))  # the CLI is an edge: the wall clock is "now"
    mode = RunMode("manual", notify=args.notify, dry_run=not args.live)
    h = start
    while h <= end:
        print(run_local(h, spec, settings, mode, args.model or None)["line"], flush=True)
        h += timedelta(hours=1)
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
    sp.add_argument("--hour", required=True, help="first hour, e.g. 2026-11-01T09:00Z")
    sp.add_argument("--until", help="last hour (inclusive); default: just --hour")
    sp.add_argument("--model", action="append", help="only this model (repeatable)")
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
