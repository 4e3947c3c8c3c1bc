"""The `modelwatch` command: simulate a fleet, seed a warehouse, run hours, run the demo,
manage silences, replay and evaluate detection.

Every subcommand takes explicit times, so anything the DAG does can be reproduced by hand.
Each group of subcommands lives in its own module of this package.
"""

from __future__ import annotations

import argparse
import logging
import sys

from modelwatch.cli import baseline, detect, fleet, logs, run, silence, whatif


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modelwatch", description=__doc__)
    p.add_argument("--config", help="settings file (default: $MODELWATCH_CONFIG or built-in)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    for group in (fleet, run, silence, detect, logs, whatif, baseline):
        group.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        force=True,  # importing Airflow (to read a connection) installs its own handler
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, RuntimeError) as exc:
        print(f"modelwatch {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
