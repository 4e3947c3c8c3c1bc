"""`modelwatch silence add | list | expire`: operators' silences, stored in the warehouse."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pandas as pd

from modelwatch.alerting.silence_table import add_silence, expire_silence, list_silences
from modelwatch.alerting.silences import (
    parse_duration,
    parse_matchers,
)
from modelwatch.cli.common import add_warehouse_arg, spec_from_args
from modelwatch.config import ALERT_LABELS
from modelwatch.timestamps import to_naive_utc
from modelwatch.warehouse import open_warehouse


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def cmd_silence(args: argparse.Namespace) -> int:
    now = _now()
    with open_warehouse(spec_from_args(args), migrate=True) as wh:
        if args.silence_command == "add":
            start = (
                to_naive_utc(datetime.fromisoformat(args.start.replace("Z", "+00:00")))
                if args.start
                else now
            )
            if args.end:
                end = to_naive_utc(datetime.fromisoformat(args.end.replace("Z", "+00:00")))
            else:
                end = start + parse_duration(args.duration)
            sid = add_silence(
                wh, parse_matchers(args.match), start, end, args.by, args.comment, now
            )
            print(
                f"silence {sid}: {' '.join(args.match)} from {start:%Y-%m-%d %H:%M} "
                f"to {end:%Y-%m-%d %H:%M} UTC, by {args.by}: {args.comment}"
            )
        elif args.silence_command == "list":
            frame = list_silences(wh, None if args.all else now)
            if frame.empty:
                print("no silences" if args.all else "no active or pending silences")
            for r in frame.itertuples(index=False):
                state = "expired" if pd.Timestamp(r.ends_at) <= pd.Timestamp(now) else "active"
                print(
                    f"{r.silence_id}  {state:7}  {pd.Timestamp(r.starts_at):%Y-%m-%d %H:%M} .. "
                    f"{pd.Timestamp(r.ends_at):%Y-%m-%d %H:%M}  {r.matchers}  "
                    f"by {r.created_by}: {r.comment}"
                )
        else:
            if not expire_silence(wh, args.silence_id, args.by, now):
                print(f"no running silence {args.silence_id}")
                return 1
            print(f"silence {args.silence_id} expired")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `modelwatch silence add|list|expire` subcommands."""
    sp = sub.add_parser("silence", help="manage alert silences (stored in the warehouse)")
    ss = sp.add_subparsers(dest="silence_command", required=True)
    a = ss.add_parser("add", help="silence alerts matching labels for a while")
    a.add_argument(
        "--match",
        action="append",
        required=True,
        metavar="LABEL=VALUE",
        help=f"repeatable; labels: {', '.join(ALERT_LABELS)}",
    )
    a.add_argument("--duration", default="2h", help="e.g. 30m, 4h, 2d (default 2h)")
    a.add_argument("--start", help="ISO time (default: now)")
    a.add_argument("--end", help="ISO time (instead of --duration)")
    a.add_argument("--by", required=True, help="who is silencing")
    a.add_argument("--comment", required=True, help="why")
    ls = ss.add_parser("list", help="silences that are active or pending")
    ls.add_argument("--all", action="store_true", help="include expired ones")
    ex = ss.add_parser("expire", help="end a silence now")
    ex.add_argument("silence_id")
    ex.add_argument("--by", default="cli", help="who is expiring it")
    for p in (a, ls, ex):
        add_warehouse_arg(p)
    sp.set_defaults(func=cmd_silence)
