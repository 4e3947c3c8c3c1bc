"""The picture of a drift alert: the hour's predictions against their reference, and the
tests' statistics over the last hours. Drawn from the warehouse with Matplotlib's object API
on an Agg canvas (no pyplot, no display)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from modelwatch.config import DriftConfig
from modelwatch.drift.reference import load_references
from modelwatch.drift.source import PREDICTION, predictions_available, read_predictions
from modelwatch.drift.stats import PSI, WASSERSTEIN, usable
from modelwatch.run import HOUR
from modelwatch.storage import StorePath, save_png
from modelwatch.warehouse import Warehouse


def plot_drift(
    wh: Warehouse,
    cfg: DriftConfig,
    model_id: str,
    hour: datetime,
    out: StorePath,
    hours: int = 48,
    preds: Warehouse | None = None,
) -> StorePath | None:
    """Write the PNG to `out` (None when there are no predictions to draw); the predictions
    read from `preds` (default `wh`)."""
    preds = preds or wh
    if not predictions_available(preds, cfg):
        return None
    rows = read_predictions(preds, cfg, hour, hour + HOUR, [model_id], [PREDICTION], False)
    ref = load_references(wh, cfg, hour, [model_id], [PREDICTION], False, preds).get(
        (model_id, PREDICTION)
    )
    if rows.empty or ref is None:
        return None
    tests = wh.query(
        "SELECT hour, test, statistic, threshold FROM mw_drift WHERE model_id = :m "
        "AND feature = :f AND hour > :start AND hour <= :h ORDER BY hour",
        {"m": model_id, "f": PREDICTION, "start": hour - timedelta(hours=hours), "h": hour},
    )
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    label, sketch = ref
    fig = Figure(figsize=(11, 3.4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    current = pd.Series(usable(rows[PREDICTION].dropna().to_numpy(), "cats" in sketch))
    if "cats" in sketch:
        cats = sorted(set(sketch["cats"]) | set(current.astype(str)))
        total = sum(sketch["cats"].values()) or 1
        now = current.astype(str).value_counts(normalize=True)
        x = np.arange(len(cats))
        left.bar(x - 0.2, [sketch["cats"].get(c, 0) / total for c in cats], 0.4, label=label)
        left.bar(x + 0.2, [float(now.get(c, 0.0)) for c in cats], 0.4, label="this hour")
        left.set_xticks(x, cats, fontsize=7)
    else:
        q = np.asarray(sketch["q"], dtype=float)
        values = current.to_numpy(dtype=float)
        bins = np.histogram_bin_edges(np.concatenate([q, values]), bins=40)
        # one filled outline per histogram, not a rectangle per bin: the same picture
        hist = {"bins": bins, "density": True, "alpha": 0.5, "histtype": "stepfilled"}
        left.hist(q, color="tab:green", label=label, **hist)
        left.hist(values, color="tab:red", label="this hour", **hist)
    left.set_title(f"predictions {hour:%Y-%m-%d %H}:00 vs reference", fontsize=9)
    left.legend(fontsize=7)
    for test, colour in ((PSI, "tab:purple"), (WASSERSTEIN, "tab:orange")):
        t = tests[tests["test"] == test]
        if len(t):
            right.plot(pd.to_datetime(t["hour"]), t["statistic"], ".-", color=colour, label=test)
            right.axhline(float(t["threshold"].iloc[-1]), ls="--", lw=1, color=colour)
    right.set_title("drift statistics by hour (dashed: thresholds)", fontsize=9)
    right.legend(fontsize=7)
    fig.suptitle(f"{model_id} drift", fontsize=10)
    for ax in (left, right):  # autofmt_xdate's slant, without measuring the labels first
        ax.tick_params(axis="x", labelrotation=30, labelrotation_mode="xtick")
    fig.subplots_adjust(bottom=0.2)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, out, dpi=80)
    return out
