"""Reading the user's predictions table through the config's column mapping.

The table is the user's (like `source.table`): modelwatch only reads it. Its `label` column and
the declared feature columns are optional; a column the table lacks is simply not tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from modelwatch.config import DriftConfig
from modelwatch.timestamps import naive_utc_columns
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident

PREDICTION, LABEL = "prediction", "label"


def _table_name(table: str) -> str:
    return table.rsplit(".", 1)[-1]


def predictions_available(wh: Warehouse, cfg: DriftConfig) -> bool:
    """Drift runs only when it is enabled and the predictions table exists."""
    return cfg.enabled and wh.table_exists(_table_name(cfg.table))


def table_columns(wh: Warehouse, cfg: DriftConfig) -> set[str]:
    got = wh.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t",
        {"t": _table_name(cfg.table)},
    )
    return set(got["column_name"].astype(str))


def tested_columns(wh: Warehouse, cfg: DriftConfig) -> tuple[list[str], bool]:
    """The features present in the table (the prediction first), and whether it has labels."""
    present = table_columns(wh, cfg)
    features = [PREDICTION, *(f for f in cfg.features if f in present)]
    return features, cfg.column(LABEL) in present


def read_predictions(
    wh: Warehouse,
    cfg: DriftConfig,
    start: datetime,
    end: datetime,
    models: Sequence[str] | None,
    features: Sequence[str],
    labels: bool,
) -> pd.DataFrame:
    """Rows with ts in [start, end) (of `models`, or all), named as ours, sorted by model; `ts`
    naive UTC whatever the column's type (the predictions' input edge)."""
    picks = [("ts", cfg.column("ts")), ("model_id", cfg.column("model_id"))]
    picks += [(f, cfg.column(f) if f == PREDICTION else f) for f in features]
    if labels:
        picks.append((LABEL, cfg.column(LABEL)))
    cols = ", ".join(f"{quote_ident(theirs)} AS {quote_ident(ours)}" for ours, theirs in picks)
    ts, mid = quote_ident(cfg.column("ts")), quote_ident(cfg.column("model_id"))
    where = f"{ts} >= :start AND {ts} < :end AND {mid} IS NOT NULL"
    params: dict[str, object] = {"start": start, "end": end}
    if models is not None:
        where += f" AND {mid} IN :models"
        params["models"] = list(models)
    frame = wh.query(f"SELECT {cols} FROM {quote_ident(cfg.table)} WHERE {where}", params)
    frame = naive_utc_columns(frame, ["ts"])
    frame["model_id"] = frame["model_id"].astype(str)
    return frame.sort_values(["model_id", "ts"], kind="stable").reset_index(drop=True)


def labelled_rows(rows: pd.DataFrame, categorical: bool) -> pd.DataFrame:
    """The rows whose prediction and label can be compared: both present, and finite numbers
    for a continuous output."""
    keep = rows[LABEL].notna() & rows[PREDICTION].notna()
    if not categorical:
        for col in (LABEL, PREDICTION):
            keep &= np.isfinite(pd.to_numeric(rows[col], errors="coerce").astype(np.float64))
    return rows[keep]
