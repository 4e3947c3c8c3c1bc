"""The `modelwatch` command: simulate a fleet, seed a warehouse, run hours, run the demo.

Every subcommand takes explicit times, so anything the DAG does can be reproduced by hand.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from modelwatch.window import parse_hour


def _spec(args: argparse.Namespace):
    from modelwatch.warehouse import spec_from_env, spec_from_uri

    if getattr(args, "warehouse", None):
        return spec_from_uri(args.warehouse)
    from modelwatch.config import load_settings

    return spec_from_env(load_settings(args.config).warehouse_conn_id)


def _fleet_spec(args: argparse.Namespace):
    from modelwatch.simulate import FleetSpec

    return FleetSpec(n_models=args.models, days=args.days, seed=args.seed)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Generate a fleet and write its metrics (and incidents) to files or a warehouse."""
    from modelwatch.simulate import simulate_fleet

    fleet = simulate_fleet(_fleet_spec(args))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        write = {".parquet": "to_parquet", ".csv": "to_csv"}.get(out.suffix)
        if write is None:
            raise SystemExit(f"--out must end in .parquet or .csv, got {out.name}")
        getattr(fleet.metrics, write)(out, index=False)
        inc = out.with_name(out.stem + "_incidents" + out.suffix)
        getattr(fleet.incidents, write)(inc, index=False)
        print(
            f"wrote {len(fleet.metrics):,} rows to {out}, {len(fleet.incidents)} incidents to {inc}"
        )
    else:
        cmd_seed(args, fleet)
    return 0


def cmd_seed(args: argparse.Namespace, fleet=None) -> int:
    """Create the input tables in the warehouse and load a simulated fleet (once)."""
    from modelwatch.seed import is_seeded, seed
    from modelwatch.simulate import simulate_fleet
    from modelwatch.warehouse import open_warehouse

    with open_warehouse(_spec(args), migrate=True) as wh:
        if is_seeded(wh):
            print("warehouse already seeded; leaving it as it is")
            return 0
        fleet = fleet or simulate_fleet(_fleet_spec(args))
        n = seed(wh, fleet)
    print(f"seeded {n:,} metric rows for {args.models} models and {len(fleet.incidents)} incidents")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from modelwatch.warehouse import open_warehouse

    with open_warehouse(_spec(args)) as wh:
        applied = wh.migrate()
        print(f"schema version {wh.schema_version()} (applied now: {applied or 'none'})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Process hours without Airflow (same steps as the DAG)."""
    from datetime import timedelta

    from modelwatch.config import load_settings
    from modelwatch.local import run_hour
    from modelwatch.window import RunMode

    settings = load_settings(args.config)
    spec = _spec(args)
    start = parse_hour(args.hour)
    end = parse_hour(args.until) if args.until else start
    mode = RunMode("manual", notify=args.notify, dry_run=not args.live)
    h = start
    while h <= end:
        print(run_hour(h, spec, settings, mode, args.model or None)["line"], flush=True)
        h += timedelta(hours=1)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from modelwatch.demo import run_demo

    return run_demo(
        day=parse_hour(args.day) if args.day else None,
        n_models=args.models,
        hours=args.hours,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="modelwatch", description=__doc__)
    p.add_argument("--config", help="settings file (default: $MODELWATCH_CONFIG or built-in)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    def fleet_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--models", type=int, default=24, help="fleet size (default 24)")
        sp.add_argument("--days", type=int, default=15, help="days of 1-minute data (default 15)")
        sp.add_argument("--seed", type=int, default=7)

    def wh_arg(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--warehouse",
            help="connection URI (default: the Airflow connection, e.g. "
            "AIRFLOW_CONN_MODELWATCH_WAREHOUSE)",
        )

    sp = sub.add_parser("simulate", help="generate a simulated fleet")
    fleet_args(sp)
    wh_arg(sp)
    sp.add_argument("--out", help="write .parquet/.csv files instead of seeding the warehouse")
    sp.set_defaults(func=cmd_simulate)

    sp = sub.add_parser("seed", help="load a simulated fleet into the warehouse (once)")
    fleet_args(sp)
    wh_arg(sp)
    sp.set_defaults(func=cmd_seed)

    sp = sub.add_parser("migrate", help="apply the output tables' DDL")
    wh_arg(sp)
    sp.set_defaults(func=cmd_migrate)

    sp = sub.add_parser("run", help="process hours without Airflow")
    wh_arg(sp)
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

    from modelwatch.silences import add_parser as add_silence_parser

    add_silence_parser(sub, wh_arg)

    from modelwatch.cli_detect import add_commands as add_detect_commands  # replay, evaluate

    add_detect_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except (ValueError, RuntimeError) as exc:
        print(f"modelwatch {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
