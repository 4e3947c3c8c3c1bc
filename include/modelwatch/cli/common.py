"""What the subcommands share: the warehouse argument, the settings, model ids checked against
what reports, and JSON output.

`--warehouse` takes a connection id or a connection URI in every command; without it, the
settings' connection (`warehouse_conn_id`). A relative DuckDB path is relative to the settings
file's folder (or the working directory without one). Read commands never create a warehouse.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pandas as pd

from modelwatch.config import Settings, load_settings, settings_dir
from modelwatch.warehouse import WarehouseSpec, require_existing, spec_for
from modelwatch.warehouse.connect import as_source


def add_warehouse_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--warehouse",
        help="connection id or URI (default: the settings' connection, modelwatch_warehouse: "
        "an Airflow connection or AIRFLOW_CONN_MODELWATCH_WAREHOUSE)",
    )


def add_allow_new_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--allow-new",
        action="store_true",
        help="accept model ids the metrics source has never reported",
    )


def add_json_arg(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--json", action="store_true", help="one JSON document on stdout")


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings of the top-level `--config` (or $MODELWATCH_CONFIG, or the defaults)."""
    return load_settings(getattr(args, "config", None))


def spec_from_args(args: argparse.Namespace, *, read_only: bool = False) -> WarehouseSpec:
    """`--warehouse` (connection id or URI) if given, else the settings' connection; with
    `read_only`, a DuckDB file that does not exist is an error naming it, never created."""
    source = getattr(args, "warehouse", None) or settings_of(args).warehouse_conn_id
    spec = spec_for(source, settings_dir(getattr(args, "config", None)))
    return require_existing(spec) if read_only else spec


def source_from_args(args: argparse.Namespace, *, read_only: bool = False) -> str:
    """The warehouse as a library function that takes a connection id or URI wants it: the
    settings' relative paths already resolved."""
    source = getattr(args, "warehouse", None) or settings_of(args).warehouse_conn_id
    return as_source(spec_from_args(args, read_only=read_only), source)


def refuse_unknown_models(
    spec: WarehouseSpec, settings: Settings, ids: Iterable[str], allow_new: bool
) -> None:
    """Model ids the metrics source has never reported are typos until said otherwise
    (`--allow-new`): refused, naming each and the closest known ids, before anything is
    written. Opens nothing when no id is given, or the warehouse file does not exist."""
    ids = sorted(set(ids))
    if allow_new or not ids:
        return
    from modelwatch.ingest.extract import reported_ids
    from modelwatch.warehouse import WarehouseError, open_warehouse

    try:
        require_existing(spec)
    except WarehouseError as exc:
        raise ValueError(f"{exc}: no model has reported yet (--allow-new to go on)") from exc
    with open_warehouse(spec) as wh:
        unknown = [m for m in ids if m not in reported_ids(wh, settings.source, ids)]
        known = sorted(reported_ids(wh, settings.source)) if unknown else []
    if unknown:
        raise ValueError("\n".join(unknown_model(m, known, settings) for m in unknown))


def unknown_model(model_id: str, known: Sequence[str], settings: Settings) -> str:
    close = difflib.get_close_matches(model_id, known, n=3, cutoff=0.6)
    hint = f"; closest known: {', '.join(close)}" if close else ""
    return (
        f"unknown model id {model_id!r}: never reported by {settings.source.table}{hint} "
        "(--allow-new to use it anyway)"
    )


# ------------------------------------------------------------------------------------ output
def iso_utc(value: Any) -> Any:
    """A time as ISO 8601 UTC (`2026-11-01T09:00:00Z`; the warehouse keeps naive UTC)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if value is pd.NaT:
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts
    return ts.isoformat().replace("+00:00", "") + "Z"


def jsonable(value: Any) -> Any:
    """Plain JSON values: times in ISO 8601 UTC, NaN and NA as null, numpy scalars unboxed."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return iso_utc(value)
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as a list of JSON-ready objects (`[]` when empty)."""
    return [jsonable(r) for r in frame.astype(object).to_dict("records")]


def print_json(doc: Any) -> None:
    """Exactly one JSON document on stdout."""
    print(json.dumps(jsonable(doc), sort_keys=False))
