"""What the subcommands share: the warehouse argument and how it becomes a connection."""

from __future__ import annotations

import argparse

from modelwatch.config import load_settings
from modelwatch.warehouse import WarehouseSpec, spec_from_uri, warehouse_spec


def add_warehouse_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--warehouse",
        help="connection URI (default: the Airflow connection, e.g. "
        "AIRFLOW_CONN_MODELWATCH_WAREHOUSE)",
    )


def spec_from_args(args: argparse.Namespace) -> WarehouseSpec:
    """`--warehouse URI` if given, else the configured Airflow connection."""
    if getattr(args, "warehouse", None):
        return spec_from_uri(args.warehouse)
    return warehouse_spec(load_settings(getattr(args, "config", None)).warehouse_conn_id)
