"""Drift hints from the `mw_drift` table (written by the drift stage), when it exists.

Read by table, not by import (the drift stage is built separately), and a deployment without
drift checks has no such table. A drifted feature in the anomaly's hours is a hint; the
stronger the test statistic, the higher it ranks.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from modelwatch.hints.model import DRIFT, AlertRef, Hint, hhmm
from modelwatch.run import HOUR

WEIGHT = 0.7


def drift_hints(alert: AlertRef, hour: datetime, drift: pd.DataFrame) -> list[Hint]:
    g = drift[
        (drift["model_id"] == alert.model_id)
        & (drift["hour"] >= alert.began - HOUR)
        & (drift["hour"] <= hour)
    ]
    out = []
    for feature, rows in g.groupby("feature", sort=True):
        top = rows.sort_values(["statistic", "hour"], ascending=[False, True]).iloc[0]
        stat = float(top["statistic"]) if pd.notna(top["statistic"]) else 0.0
        boost = 1.0 if "prediction_mean" in alert.top_metrics else 0.85
        out.append(
            Hint(
                DRIFT,
                f"feature {feature} drifted ({top['test']} {stat:.3g}, p={top['p_value']:.2g}) "
                f"since {hhmm(rows['hour'].min())}",
                WEIGHT * boost * min(1.0, 0.5 + stat),
                {
                    "feature": feature,
                    "test": top["test"],
                    "statistic": stat,
                    "p_value": top["p_value"],
                    "since": rows["hour"].min(),
                },
            )
        )
    return out
