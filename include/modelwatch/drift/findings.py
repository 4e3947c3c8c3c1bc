"""Drift findings read back from `mw_drift`: for the alert step's signals, the troubleshooting
hints and the hour's report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from modelwatch.drift.source import LABEL, PREDICTION
from modelwatch.warehouse import Warehouse


def drift_findings(wh: Warehouse, model_id: str, hour: datetime) -> list[dict[str, Any]]:
    """A model's drift findings for an hour (every test, drifted first, then by feature):
    dicts with feature, test, statistic, p_value, threshold, drifted, reference, baseline,
    n_current, n_reference. Empty when drift was not computed (no predictions)."""
    got = wh.query(
        "SELECT feature, test, statistic, p_value, threshold, drifted, reference, baseline, "
        "n_current, n_reference FROM mw_drift WHERE model_id = :m AND hour = :h",
        {"m": model_id, "h": hour},
    )
    got["drifted"] = got["drifted"].astype(bool)
    got = got.sort_values(["drifted", "feature", "test"], ascending=[False, True, True])
    rows = got.astype(object).where(got.notna(), None).to_dict("records")
    return [{k: v for k, v in r.items()} for r in rows]


def signal_detail(rows: pd.DataFrame) -> str:
    """The JSON an alert carries: the drifted tests of the prediction in one hour."""
    items = [
        {
            "feature": r.feature,
            "test": r.test,
            "statistic": round(float(r.statistic), 4),
            "threshold": float(r.threshold),
            "reference": r.reference,
        }
        for r in rows.sort_values("test").itertuples(index=False)
    ]
    return json.dumps(items)


def drift_signal_rows(wh: Warehouse, models: Sequence[str], start: datetime) -> pd.DataFrame:
    """Model-hours since `start` whose prediction drifted: model_id, hour, detail (JSON)."""
    got = wh.query(
        "SELECT model_id, hour, feature, test, statistic, threshold, reference FROM mw_drift "
        "WHERE drifted AND feature = :f AND hour >= :start AND model_id IN :models",
        {"f": PREDICTION, "start": start, "models": list(models)},
    )
    out = [
        {"model_id": str(m), "hour": pd.Timestamp(h), "detail": signal_detail(g)}
        for (m, h), g in got.groupby(["model_id", "hour"], sort=True)
    ]
    return pd.DataFrame(out, columns=["model_id", "hour", "detail"])


def hour_drift(wh: Warehouse, hour: datetime) -> list[dict[str, Any]]:
    """The hour's findings per model for the report: drifted tests and the labelled error."""
    got = wh.query(
        "SELECT model_id, feature, test, statistic, p_value, threshold, drifted, reference, "
        "baseline, n_current FROM mw_drift WHERE hour = :h ORDER BY model_id, feature, test",
        {"h": hour},
    )
    got["drifted"] = got["drifted"].astype(bool)
    keep = got[got["drifted"] | (got["feature"] == LABEL)]
    rows = keep.astype(object).where(keep.notna(), None)
    return rows.to_dict("records")
