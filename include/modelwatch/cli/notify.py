"""`modelwatch notify test --receiver NAME`: one test notification through a receiver.

The event goes through the receiver's real channel code (its connection, hook and payload),
says plainly that it is a test, and is never written to the alert tables or the ledger, so
it can be sent at any time. The result is printed; a failed delivery exits 1.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from modelwatch.alerting.channels import ReceiverSkipped, send_test
from modelwatch.cli.common import add_json_arg, print_json, settings_of


def cmd_notify_test(args: argparse.Namespace) -> int:
    cfg = settings_of(args).alerts
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    kind = cfg.channels[args.receiver].type if args.receiver in cfg.channels else args.receiver
    try:
        got = send_test(cfg, args.receiver, now)
    except ReceiverSkipped as exc:
        if args.json:
            print_json({"receiver": args.receiver, "type": kind, "sent": False, "detail": str(exc)})
        else:
            print(f"receiver {args.receiver} ({kind}): not sent: {exc}")
        return 1
    if args.json:
        print_json({"receiver": args.receiver, "type": kind, "sent": got.ok, "detail": got.detail})
    else:
        state = "delivered" if got.ok else "FAILED"
        print(f"receiver {args.receiver} ({kind}): test notification {state}: {got.detail}")
    return 0 if got.ok else 1


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = sub.add_parser("notify", help="test a receiver")
    ss = sp.add_subparsers(dest="notify_command", required=True)
    t = ss.add_parser("test", help="send one marked test notification through a receiver")
    t.add_argument("--receiver", required=True, help="a channel of alerts.channels, or log")
    add_json_arg(t)
    t.set_defaults(func=cmd_notify_test)
