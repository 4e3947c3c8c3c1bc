"""The Numenta Anomaly Benchmark: load its corpus and score detections the way NAB does.

Why a re-implementation: the project is judged by NAB's own scorer on files we do not have, so
the bench number must predict that one. The rules below follow NAB v1.1's `nab/sweeper.py`
line by line (rather than its paper), including its quirks:

- probationary period: the first min(floor(0.15 n), 0.15 * 5000) rows of a file are not scored;
- inside a window [t1, t2] (of `width` rows, right edge at row `r`), a detection at row i is
  worth scaledSigmoid(-(r - i + 1) / width) / scaledSigmoid(-1) * TP weight; only the window's
  best (i.e. first) detection counts; a window without one costs the FN weight;
- outside every window, a detection costs FP weight * scaledSigmoid(|i - r_prev| / (w_prev - 1))
  after the preceding window (so a detection just after a window costs little or even earns a
  little), and the full FP weight before the first window;
- scaledSigmoid(x) = 2 / (1 + exp(5x)) - 1, and -1 for x >= 3;
- the threshold is swept over every distinct score and the one that maximises the corpus total
  is kept; a 0/1 decision stream is scored with threshold 1;
- normalised score = 100 * (raw - null) / (perfect - null), where the null detector never fires
  (every window costs FN) and the perfect one fires on each window's first row (+TP each).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: (TP, FN, FP) weights of NAB's profiles.
PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, 1.0, 0.11),
    "reward_low_FP_rate": (1.0, 1.0, 0.22),
    "reward_low_FN_rate": (1.0, 2.0, 0.11),
}
PROBATION_PERCENT = 0.15

_OUTSIDE = -1  # window id of a row outside every window
_PROBATION = -2  # window id of a row in the probationary period


@dataclass
class NabFile:
    """One labelled NAB series."""

    name: str  # "category/file.csv", the key of windows.json
    ts: pd.Series
    value: np.ndarray
    windows: list[tuple[pd.Timestamp, pd.Timestamp]]


def load_corpus(root: str | Path) -> list[NabFile]:
    """Every file listed in `root/windows.json` that exists under `root/data`, sorted by name."""
    root = Path(root)
    labels = json.loads((root / "windows.json").read_text())
    files = []
    for name in sorted(labels):
        path = root / "data" / name
        if not path.exists():
            continue
        frame = pd.read_csv(path)
        ts = pd.to_datetime(frame["timestamp"])
        wins = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in labels[name]]
        files.append(NabFile(name, ts, frame["value"].to_numpy(dtype=float), wins))
    return files


def as_metrics(files: list[NabFile]) -> pd.DataFrame:
    """The corpus as one replay input: model_id = file name, ts, value."""
    return pd.concat(
        [pd.DataFrame({"model_id": f.name, "ts": f.ts, "value": f.value}) for f in files],
        ignore_index=True,
    )


def scaled_sigmoid(x: np.ndarray | float) -> np.ndarray:
    """NAB's reward curve: ~+1 at a window's left edge, 0 at its right edge, -1 far after it."""
    x = np.asarray(x, dtype=float)
    return np.where(x >= 3.0, -1.0, 2.0 / (1.0 + np.exp(np.clip(5.0 * x, -50, 50))) - 1.0)


def probation_length(n: int) -> float:
    """Rows at the start of a file that NAB does not score."""
    return min(math.floor(PROBATION_PERCENT * n), PROBATION_PERCENT * 5000)


def window_rows(
    stamps: np.ndarray, windows: list[tuple[pd.Timestamp, pd.Timestamp]]
) -> list[tuple[int, int]]:
    """Each window as (first row, last row) of a time-sorted file, in time order.

    NAB enters a window at the first row stamped with its start and leaves it at the first row
    stamped with its end (its files always have such rows); for windows whose edges fall
    between rows (e.g. incidents), the first row at or after the start and the last row at or
    before the end are used instead. Windows with no row are dropped.
    """
    out = []
    for left, right in sorted(windows):
        lt, rt = np.datetime64(pd.Timestamp(left)), np.datetime64(pd.Timestamp(right))
        a = int(np.searchsorted(stamps, lt, side="left"))
        exact = a < len(stamps) and stamps[a] == rt
        b = a if exact else int(np.searchsorted(stamps, rt, side="left"))
        if b >= len(stamps) or stamps[b] != rt:
            b = int(np.searchsorted(stamps, rt, side="right")) - 1
        if a < len(stamps) and b >= a:
            out.append((a, b))
    return out


def sweep_points(
    ts: pd.Series, windows: list[tuple[pd.Timestamp, pd.Timestamp]], profile: str = "standard"
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the weight a detection there would get, and its window id (or outside /
    probation), exactly as NAB's `Sweeper.calcSweepScore` walks a (time-sorted) file."""
    tp_w, _, fp_w = PROFILES[profile]
    stamps = pd.to_datetime(pd.Series(ts)).to_numpy(dtype="datetime64[ns]")
    n = len(stamps)
    max_tp = float(scaled_sigmoid(-1.0))
    weight = np.full(n, -fp_w)  # before the first window: the full FP weight
    wid = np.full(n, _OUTSIDE, dtype=int)
    rows = window_rows(stamps, windows)
    for k, (a, b) in enumerate(rows):
        width = float(b - a + 1)
        i = np.arange(a, b + 1)
        weight[a : b + 1] = scaled_sigmoid(-(b - i + 1) / width) * tp_w / max_tp
        wid[a : b + 1] = k
        stop = rows[k + 1][0] if k + 1 < len(rows) else n
        j = np.arange(b + 1, stop)
        pos = np.abs(b - j) / (width - 1) if width > 1 else np.full(len(j), np.inf)
        weight[b + 1 : stop] = scaled_sigmoid(pos) * fp_w
    wid[: int(probation_length(n))] = _PROBATION
    return weight, wid


@dataclass
class NabResult:
    """The corpus score at the best threshold."""

    score: float  # normalised, 0 = null detector, 100 = perfect
    raw: float
    threshold: float
    n_windows: int
    detected_windows: int
    false_positives: int


def score_corpus(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], profile: str = "standard"
) -> NabResult:
    """Sweep one threshold over the whole corpus. `parts` holds (scores, weight, window id)
    per file, from `sweep_points`; window ids are made unique across files here."""
    _, fn_w, _ = PROFILES[profile]
    scores, weights, keys = [], [], []
    offset = 0
    for s, w, wid in parts:
        keep = wid != _PROBATION
        scores.append(np.asarray(s, dtype=float)[keep])
        weights.append(w[keep])
        k = wid[keep].copy()
        k[k >= 0] += offset
        keys.append(k)
        offset += int(wid.max()) + 1 if wid.max() >= 0 else 0
    s = np.concatenate(scores)
    w = np.concatenate(weights)
    k = np.concatenate(keys)
    n_windows = len(np.unique(k[k >= 0]))
    null = -fn_w * n_windows
    perfect = PROFILES[profile][0] * n_windows
    order = np.argsort(-s, kind="stable")
    s, w, k = s[order], w[order], k[order]
    inc = np.where(k < 0, w, 0.0)
    inside = k >= 0
    if inside.any():
        g = pd.DataFrame({"k": k[inside], "w": w[inside]})
        best = g.groupby("k")["w"].cummax().clip(lower=-fn_w).to_numpy()
        before = np.full(len(best), -fn_w)
        grp = g["k"].to_numpy()
        # running best before this point = previous point's cummax within the same window
        prev_best = pd.Series(best).groupby(grp).shift(1).to_numpy()
        before = np.where(np.isnan(prev_best), -fn_w, prev_best)
        inc[inside] = best - before
    total = null + np.cumsum(inc)
    last_of_value = np.r_[s[1:] != s[:-1], True]
    cand_total = np.r_[null, total[last_of_value]]
    cand_thr = np.r_[np.inf, s[last_of_value]]
    j = int(np.argmax(cand_total))
    thr = float(cand_thr[j])
    fired = s >= thr
    det = len(np.unique(k[fired & inside]))
    fps = int((fired & ~inside).sum())
    raw = float(cand_total[j])
    norm = 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0
    return NabResult(norm, raw, thr, n_windows, det, fps)


def false_alarms(f: NabFile, decision: np.ndarray) -> int:
    """A 0/1 stream's detections outside every window of `f` and after the probation: the
    ones NAB charges (how a file without windows is judged)."""
    _, wid = sweep_points(f.ts, f.windows)
    return int(np.sum((np.asarray(decision) > 0) & (wid == _OUTSIDE)))


def score_files(
    files: list[NabFile], scores: dict[str, np.ndarray], profile: str = "standard"
) -> NabResult:
    """NAB's corpus score of per-row `scores` (keyed by file name, in file row order)."""
    parts = []
    for f in files:
        w, wid = sweep_points(f.ts, f.windows, profile)
        parts.append((np.asarray(scores[f.name], dtype=float), w, wid))
    return score_corpus(parts, profile)
