"""`modelwatch silence add | list | expire`: operators' silences, stored in the warehouse.

    modelwatch silence add --match model_id=model-003 --from 2026-11-01T09:00Z --duration 4h \\
        --by alice --comment "retraining"
    modelwatch silence list [--all] [--json]

`list` only reads: it never creates the warehouse or its tables (no table: no silences).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

import pandas as pd

from modelwatch.alerting.silence_table import add_silence, expire_silence, list_silences
from modelwatch.alerting.silences import (
    parse_duration,
    parse_matchers,
)
from modelwatch.cli.common import (
    add_allow_new_arg,
    add_json_arg,
    add_warehouse_arg,
    print_json,
    records,
    refuse_unknown_models,
    settings_of,
    spec_from_args,
)
from modelwatch.cli.ranges import add_range, check_range, deprecated_flag, new_or_old, parse_time
from modelwatch.config import ALERT_LABELS
from modelwatch.warehouse import open_warehouse


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def state_of(ends_at: object, now: datetime) -> str:
    return "expired" if pd.Timestamp(ends_at) <= pd.Timestamp(now) else "active"


def cmd_add(args: argparse.Namespace, now: datetime) -> int:
    first, last = new_or_old(args, ("start", "end"))
    start = parse_time(first) if first else now
    end = parse_time(last) if last else start + parse_duration(args.duration)
    check_range(start, end)
    matchers = parse_matchers(args.match)
    spec = spec_from_args(args)
    if "model_id" in matchers:
        refuse_unknown_models(spec, settings_of(args), [matchers["model_id"]], args.allow_new)
    with open_warehouse(spec, migrate=True) as wh:
        sid = add_silence(wh, matchers, start, end, args.by, args.comment, now)
    print(
        f"silence {sid}: {' '.join(args.match)} from {start:%Y-%m-%d %H:%M} "
        f"to {end:%Y-%m-%d %H:%M} UTC, by {args.by}: {args.comment}"
    )
    return 0


def cmd_list(args: argparse.Namespace, now: datetime) -> int:
    with open_warehouse(spec_from_args(args, read_only=True)) as wh:
        have = wh.table_exists("mw_silences")
        frame = list_silences(wh, None if args.all else now) if have else pd.DataFrame()
    if args.json:
        rows = records(frame)
        for row, ends_at in zip(rows, frame.get("ends_at", []), strict=True):
            row["matchers"] = json.loads(row["matchers"])
            row["state"] = state_of(ends_at, now)
        print_json(rows)
        return 0
    if frame.empty:
        print("no silences" if args.all else "no active or pending silences")
    for r in frame.itertuples(index=False):
        print(
            f"{r.silence_id}  {state_of(r.ends_at, now):7}  "
            f"{pd.Timestamp(r.starts_at):%Y-%m-%d %H:%M} .. "
            f"{pd.Timestamp(r.ends_at):%Y-%m-%d %H:%M}  {r.matchers}  "
            f"by {r.created_by}: {r.comment}"
        )
    return 0


def cmd_silence(args: argparse.Namespace) -> int:
    now = _now()
    if args.silence_command == "add":
        return cmd_add(args, now)
    if args.silence_command == "list":
        return cmd_list(args, now)
    with open_warehouse(spec_from_args(args), migrate=True) as wh:
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
    add_range(a, "time", "2026-11-01T09:30Z (default: now)", "instead of --duration")
    a.add_argument("--duration", default="2h", help="e.g. 30m, 4h, 2d (default 2h)")
    deprecated_flag(a, "--start", "start", "use --from")
    deprecated_flag(a, "--end", "end", "use --to")
    a.add_argument("--by", required=True, help="who is silencing")
    a.add_argument("--comment", required=True, help="why")
    add_allow_new_arg(a)
    ls = ss.add_parser("list", help="silences that are active or pending")
    ls.add_argument("--all", action="store_true", help="include expired ones")
    add_json_arg(ls)
    ex = ss.add_parser("expire", help="end a silence now")
    ex.add_argument("silence_id")
    ex.add_argument("--by", default="cli", help="who is expiring it")
    for p in (a, ls, ex):
        add_warehouse_arg(p)
    sp.set_defaults(func=cmd_silence)
