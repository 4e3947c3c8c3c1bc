"""`modelwatch baseline accept`: an operator says a model's current level is its new normal.

The model's detectors learn from the onset of its current anomalous run from the next hour
processed on (or `--hour`), and its open anomaly alert resolves then, saying who accepted it
and why (stored in `mw_baselines`; see docs/detection.md#baselines).
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
from modelwatch.detection.tables import accept
from modelwatch.run import parse_hour
from modelwatch.warehouse import open_warehouse


def cmd_baseline(args: argparse.Namespace) -> int:
    hour = parse_hour(args.hour) if args.hour else None
    now = datetime.now(UTC).replace(tzinfo=None)  # recorded for the audit, never decides
    spec = spec_from_args(args)
    refuse_unknown_models(spec, settings_of(args), [args.model], args.allow_new)
    with open_warehouse(spec, migrate=True) as wh:
        move = accept(wh, args.model, args.by, args.reason, now, hour)
    print(
        f"{move.model_id}: baseline accepted by {move.actor} from "
        f"{move.decided_hour:%Y-%m-%d %H:00} UTC on "
        f"(new normal since {move.since:%Y-%m-%d %H:00}): {move.reason}"
    )
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `modelwatch baseline accept` subcommand."""
    sp = sub.add_parser("baseline", help="accept a model's current level as its new normal")
    ss = sp.add_subparsers(dest="baseline_command", required=True)
    a = ss.add_parser("accept", help="the model's current level is normal from now on")
    a.add_argument("--model", required=True)
    a.add_argument("--by", default="cli", help="who accepts it")
    a.add_argument("--reason", default="", help="why (shown in the resolve message)")
    a.add_argument("--hour", help="first hour it applies to (default: the next hour processed)")
    add_allow_new_arg(a)
    add_warehouse_arg(a)
    sp.set_defaults(func=cmd_baseline)
