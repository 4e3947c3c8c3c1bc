"""`modelwatch alerts`: what is firing (or fired), without SQL.

    modelwatch alerts [--open] [--model M] [--since T] [--json]

Read-only: it never creates the warehouse or its tables; a warehouse no run has reached yet
has no alerts (`[]` with `--json`).
"""

from __future__ import annotations

import argparse

import pandas as pd

from modelwatch.alerting.listing import list_alerts
from modelwatch.cli.common import (
    add_json_arg,
    add_warehouse_arg,
    print_json,
    records,
    spec_from_args,
)
from modelwatch.cli.ranges import parse_time
from modelwatch.warehouse import open_warehouse


def line(r: pd.Series) -> str:
    opened = f"{pd.Timestamp(r['opened_hour']):%Y-%m-%d %H:00}"
    resolved = r["resolved_hour"]
    until = "open" if pd.isna(resolved) else f"{pd.Timestamp(resolved):%Y-%m-%d %H:00}"
    return (
        f"{r['alert_id']}  {r['status']:8}  {r['severity']:8}  {r['model_id']} {r['kind']}  "
        f"{opened} .. {until}  {r['summary']}"
    )


def cmd_alerts(args: argparse.Namespace) -> int:
    since = parse_time(args.since) if args.since else None
    with open_warehouse(spec_from_args(args, read_only=True)) as wh:
        frame = list_alerts(wh, args.open, args.model, since)
    if args.json:
        print_json(records(frame))
        return 0
    if frame.empty:
        print("no open alerts" if args.open else "no alerts")
    for _, r in frame.iterrows():
        print(line(r))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = sub.add_parser("alerts", help="list alerts (newest first)")
    sp.add_argument("--open", action="store_true", help="only alerts not resolved")
    sp.add_argument("--model", help="only this model's alerts")
    sp.add_argument("--since", metavar="T", help="only alerts open at or after T (ISO time)")
    add_json_arg(sp)
    add_warehouse_arg(sp)
    sp.set_defaults(func=cmd_alerts)
