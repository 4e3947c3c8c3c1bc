"""Warehouse access: one small interface that every step uses, whatever the database.

`open_warehouse(spec)` returns a `Warehouse`; DuckDB is the embedded default. SQL is written once,
portable, with `:name` placeholders; each backend binds them its own way.
"""

from modelwatch.warehouse.base import Warehouse, WarehouseError
from modelwatch.warehouse.connect import (
    WarehouseSpec,
    held_open,
    open_warehouse,
    require_existing,
    spec_for,
    spec_from_uri,
    warehouse_spec,
)

__all__ = [
    "Warehouse",
    "WarehouseError",
    "WarehouseSpec",
    "held_open",
    "open_warehouse",
    "require_existing",
    "spec_for",
    "spec_from_uri",
    "warehouse_spec",
]
