"""`modelwatch simulate | seed | migrate`: make a simulated fleet and set up a warehouse."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from modelwatch.cli.common import add_warehouse_arg, spec_from_args

if TYPE_CHECKING:
    import pandas as pd


def _fleet_spec(args: argparse.Namespace):
    from modelwatch.sim.fleet import FleetSpec

    return FleetSpec(n_models=args.models, days=args.days, seed=args.seed)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Generate a fleet and write its metrics (and incidents) to files or a warehouse, a chunk
    of models at a time."""
    from modelwatch.sim.fleet import FleetStream

    fleet = FleetStream(_fleet_spec(args))
    if args.out:
        out = Path(args.out)
        if out.suffix not in (".parquet", ".csv"):
            raise SystemExit(f"--out must end in .parquet or .csv, got {out.name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = write_chunks(fleet.metric_chunks(), out)
        inc = out.with_name(out.stem + "_incidents" + out.suffix)
        write_chunks(iter([fleet.incidents]), inc)
        print(f"wrote {rows:,} rows to {out}, {len(fleet.incidents)} incidents to {inc}")
    else:
        cmd_seed(args, fleet)
    return 0


def write_chunks(chunks: Iterator[pd.DataFrame], out: Path) -> int:
    """Frames of the same columns into one .parquet or .csv file, one at a time; rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, writer = 0, None
    try:
        for chunk in chunks:
            if out.suffix == ".csv":
                chunk.to_csv(out, index=False, mode="a" if rows else "w", header=not rows)
            else:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                writer = writer or pq.ParquetWriter(out, table.schema)
                writer.write_table(table)
            rows += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    return rows


def cmd_seed(args: argparse.Namespace, fleet=None) -> int:
    """Create the input tables in the warehouse and load a simulated fleet (once), a chunk of
    models at a time unless the fleet is made already."""
    from modelwatch.sim.fleet import FleetStream
    from modelwatch.sim.seed import is_seeded, seed
    from modelwatch.warehouse import open_warehouse

    with open_warehouse(spec_from_args(args), migrate=True) as wh:
        if is_seeded(wh):
            print("warehouse already seeded; leaving it as it is")
            return 0
        fleet = fleet or FleetStream(_fleet_spec(args))
        n = seed(wh, fleet)
    print(f"seeded {n:,} metric rows for {args.models} models and {len(fleet.incidents)} incidents")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from modelwatch.warehouse import open_warehouse

    with open_warehouse(spec_from_args(args)) as wh:
        applied = wh.migrate()
        print(f"schema version {wh.schema_version()} (applied now: {applied or 'none'})")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    def fleet_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--models", type=int, default=24, help="fleet size (default 24)")
        sp.add_argument("--days", type=int, default=15, help="days of 1-minute data (default 15)")
        sp.add_argument("--seed", type=int, default=7)

    sp = sub.add_parser("simulate", help="generate a simulated fleet")
    fleet_args(sp)
    add_warehouse_arg(sp)
    sp.add_argument("--out", help="write .parquet/.csv files instead of seeding the warehouse")
    sp.set_defaults(func=cmd_simulate)

    sp = sub.add_parser("seed", help="load a simulated fleet into the warehouse (once)")
    fleet_args(sp)
    add_warehouse_arg(sp)
    sp.set_defaults(func=cmd_seed)

    sp = sub.add_parser("migrate", help="apply the output tables' DDL")
    add_warehouse_arg(sp)
    sp.set_defaults(func=cmd_migrate)
