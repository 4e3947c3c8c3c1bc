"""One hour's drift findings for a set of models, from frames: the rows of `mw_drift`.

Runs the tests of `stats` per model and feature on the hour's predictions against the hour of
day's reference sketches (`tables.py` reads both). Models with too few samples in the hour, or
too little reference, get no row rather than a noisy verdict. Keyed on the hour alone, so a
replay, a backfill and the scheduled run find the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.config import DriftConfig
from modelwatch.drift import stats
from modelwatch.drift.reference import SketchMap, reference_label
from modelwatch.drift.source import LABEL, PREDICTION, labelled_rows

log = logging.getLogger(__name__)

DRIFT_COLUMNS = [
    "hour",
    "model_id",
    "feature",
    "test",
    "statistic",
    "p_value",
    "threshold",
    "drifted",
    "reference",
    "baseline",
    "n_current",
    "n_reference",
]
#: Labelled rows an hour needs before its error is worth a comparison.
MIN_LABELS = 30


@dataclass
class DriftHour:
    """The hour's findings, and the labelled earlier hour's (late labels), if any."""

    frame: pd.DataFrame
    skipped: str | None = None
    late: pd.DataFrame | None = None
    late_hour: datetime | None = None
    models: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> list[str]:
        """Models whose prediction (the output: what alerts are raised on) drifted."""
        f = self.frame
        hit = f[f["drifted"].astype(bool) & (f["feature"] == PREDICTION)]
        return sorted(hit["model_id"].unique().tolist())


def empty_frame() -> pd.DataFrame:
    frame = pd.DataFrame(columns=DRIFT_COLUMNS)
    frame["hour"] = frame["hour"].astype("datetime64[us]")
    return frame


def _row(hour: datetime, model: str, feature: str, ref: str, n: int, m: int, r: Any) -> dict:
    return {
        "hour": hour,
        "model_id": model,
        "feature": feature,
        "test": r.test,
        "statistic": r.statistic,
        "p_value": r.p_value,
        "threshold": r.threshold,
        "drifted": bool(r.drifted),
        "reference": ref,
        "baseline": r.baseline,
        "n_current": n,
        "n_reference": m,
    }


def _reference_size(sketch: dict[str, Any], categorical: bool) -> int:
    return int(sum(sketch["cats"].values())) if categorical else int(sketch["n"])


def _unusable(
    hour: datetime, model: str, n: int, usable: int, ref: Any, cfg: DriftConfig
) -> dict[str, Any]:
    """The finding of an hour whose predictions are (nearly) all NaN or infinite."""
    label = ref[0] if ref else reference_label(cfg, model, hour.replace(hour=0))
    m = _reference_size(ref[1], cfg.is_categorical(model)) if ref else 0
    log.warning(
        "drift: %s has %d predictions in %s but only %d usable (the rest NaN, null or "
        "infinite): reported as %s",
        model,
        n,
        hour,
        usable,
        stats.NON_FINITE,
    )
    verdict = stats.unusable_test(n, usable, cfg.min_samples)
    return _row(hour, model, PREDICTION, label, n, m, verdict)


def model_findings(
    hour: datetime,
    model: str,
    rows: pd.DataFrame,
    sketches: SketchMap,
    features: Sequence[str],
    cfg: DriftConfig,
    distributions: bool = True,
) -> list[dict[str, Any]]:
    """Every test of one model's hour (distribution tests, and the error if labelled)."""
    out: list[dict[str, Any]] = []
    sampled = cfg.format == "samples"
    cat = cfg.is_categorical(model)
    for f in features if distributions else ():
        ref = sketches.get((model, f))
        is_cat = cat and f == PREDICTION
        values = stats.usable(rows[f].dropna().to_numpy(), is_cat)
        if f == PREDICTION and len(rows) >= cfg.min_samples > values.size:
            out.append(_unusable(hour, model, len(rows), values.size, ref, cfg))
            continue
        if ref is None or values.size < cfg.min_samples:
            continue
        label, sk = ref
        m = _reference_size(sk, is_cat)
        if m < cfg.min_reference:
            continue
        tests = (
            stats.categorical_tests(values, sk, cfg, sampled)
            if is_cat
            else stats.continuous_tests(values, sk, cfg, sampled)
        )
        out += [_row(hour, model, f, label, int(values.size), m, t) for t in tests]
    ref = sketches.get((model, PREDICTION))
    if LABEL in rows and ref is not None and "error" in ref[1]:
        labelled = labelled_rows(rows, cat)
        if len(labelled) >= MIN_LABELS:
            now = stats.error_sketch(
                labelled[PREDICTION].to_numpy(), labelled[LABEL].to_numpy(), cat
            )
            t = stats.performance_test(now, float(ref[1]["error"]), cat, cfg)
            n_ref = int(ref[1].get("n_labels", 0))
            out.append(_row(hour, model, LABEL, ref[0], len(labelled), n_ref, t))
    return out


def findings(
    hour: datetime,
    rows: pd.DataFrame,
    sketches: SketchMap,
    features: Sequence[str],
    cfg: DriftConfig,
    distributions: bool = True,
) -> pd.DataFrame:
    """Every test of every model in `rows` (the hour's predictions, sorted by model) against
    its reference sketches: the hour's `mw_drift` rows."""
    ids = rows["model_id"].to_numpy()
    present, starts = np.unique(ids, return_index=True)
    bounds = [*starts.tolist(), len(rows)]
    found: list[dict[str, Any]] = []
    for i, model in enumerate(present.tolist()):
        part = rows.iloc[bounds[i] : bounds[i + 1]]
        found += model_findings(hour, model, part, sketches, features, cfg, distributions)
    frame = pd.DataFrame(found, columns=DRIFT_COLUMNS) if found else empty_frame()
    frame["hour"] = pd.to_datetime(frame["hour"]).astype("datetime64[us]")
    return frame
