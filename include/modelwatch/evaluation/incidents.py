"""Judge a replay against labelled incident windows, as on-call would and as NAB does.

Rules (also in docs/detection.md):

- An incident window is [start, end] of one model. A detection is a row with `is_anomaly`.
- Event recall: the share of windows with at least one detection in [start, end + grace].
- Event precision: the share of detections that fall in some window of their model
  (extended by `grace`); the others are false alarms.
- Delay: first detection in the window minus the window's start (detected windows only).
- False alarms per model-day: false alarms / the model-days the replay covers.
- NAB-style score (`modelwatch.evaluation.nab`, standard profile by default): each model's rows are
  one NAB "file", its windows are the incidents; first 15 % of each file probationary (at most 750
  rows), scaled-sigmoid reward for the first detection in a window, FN weight for a missed window,
  sigmoid-weighted FP cost after a window; normalised to 0 = never fires, 100 = perfect. `score` is
  swept over every threshold (NAB's rule); `is_anomaly` is scored as is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.evaluation import nab
from modelwatch.timestamps import naive_utc_columns


@dataclass
class Evaluation:
    """Per-incident rows, per-model rows and the headline figures."""

    incidents: pd.DataFrame
    models: pd.DataFrame
    summary: dict[str, float]


def load_incidents(source: str, warehouse: bool = False) -> pd.DataFrame:
    """Windows from a Parquet/CSV file, or the `incidents` table of a warehouse (conn id or
    URI) when `warehouse` is set: columns model_id, start, end."""
    if warehouse:
        from modelwatch.warehouse import open_warehouse, spec_from_uri, warehouse_spec

        spec = spec_from_uri(source) if "://" in source else warehouse_spec(source)
        with open_warehouse(spec) as wh:
            frame = wh.query("SELECT * FROM incidents")
    else:
        from modelwatch.evaluation.replay import read_table

        frame = read_table(source)
    return normalise_incidents(frame)


def normalise_incidents(frame: pd.DataFrame) -> pd.DataFrame:
    """Check the windows table and make its times naive UTC."""
    missing = {schema.MODEL_ID, "start", "end"} - set(frame.columns)
    if missing:
        raise ValueError(f"incident windows lack column(s) {', '.join(sorted(missing))}")
    out = naive_utc_columns(frame, ("start", "end")).copy()
    out[schema.MODEL_ID] = out[schema.MODEL_ID].astype(str)
    return out.sort_values([schema.MODEL_ID, "start"]).reset_index(drop=True)


def incident_table(
    scores: pd.DataFrame, incidents: pd.DataFrame, grace: pd.Timedelta
) -> pd.DataFrame:
    """Per incident: detected?, first detection, delay, peak score in the window."""
    rows = []
    fired = scores[scores["is_anomaly"]]
    by_model = {m: g for m, g in fired.groupby(schema.MODEL_ID)}
    all_by_model = {m: g for m, g in scores.groupby(schema.MODEL_ID)}
    for inc in incidents.itertuples(index=False):
        f = by_model.get(inc.model_id, fired.iloc[0:0])
        hit = f[(f[schema.TS] >= inc.start) & (f[schema.TS] <= inc.end + grace)]
        a = all_by_model.get(inc.model_id, scores.iloc[0:0])
        inside = a[(a[schema.TS] >= inc.start) & (a[schema.TS] <= inc.end)]
        first = hit[schema.TS].min() if len(hit) else pd.NaT
        rows.append(
            {
                schema.MODEL_ID: inc.model_id,
                "kind": getattr(inc, "kind", ""),
                "start": inc.start,
                "end": inc.end,
                "detected": bool(len(hit)),
                "first_detection": first,
                "delay_min": (first - inc.start).total_seconds() / 60 if len(hit) else np.nan,
                "peak_score": float(inside["score"].max()) if len(inside) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def false_alarms(scores: pd.DataFrame, incidents: pd.DataFrame, grace: pd.Timedelta) -> pd.Series:
    """Per detection row: True when it lies outside every window (+grace) of its model."""
    fired = scores[scores["is_anomaly"]]
    false = pd.Series(True, index=fired.index)
    for inc in incidents.itertuples(index=False):
        own = fired[schema.MODEL_ID] == inc.model_id
        inside = (fired[schema.TS] >= inc.start) & (fired[schema.TS] <= inc.end + grace)
        false &= ~(own & inside)
    return false


def nab_style(
    scores: pd.DataFrame, incidents: pd.DataFrame, profile: str = "standard"
) -> tuple[nab.NabResult, nab.NabResult]:
    """NAB's score of the `score` stream (swept) and of the `is_anomaly` decisions."""
    parts_s, parts_d = [], []
    wins = {
        m: list(zip(g["start"], g["end"], strict=True))
        for m, g in incidents.groupby(schema.MODEL_ID)
    }
    for m, g in scores.groupby(schema.MODEL_ID, sort=True):
        g = g.sort_values(schema.TS, kind="mergesort")
        w, wid = nab.sweep_points(g[schema.TS], wins.get(m, []), profile)
        parts_s.append((g["score"].to_numpy(dtype=float), w, wid))
        parts_d.append((g["is_anomaly"].to_numpy(dtype=float), w, wid))
    return nab.score_corpus(parts_s, profile), nab.score_corpus(parts_d, profile)


def evaluate(
    scores: pd.DataFrame,
    incidents: pd.DataFrame,
    grace: pd.Timedelta | None = None,
    profile: str = "standard",
) -> Evaluation:
    """All figures of a replay against labelled windows (`grace`: late detections count)."""
    grace = grace if grace is not None else pd.Timedelta(0)
    scores = scores.copy()
    scores[schema.TS] = pd.to_datetime(scores[schema.TS])
    scores[schema.MODEL_ID] = scores[schema.MODEL_ID].astype(str)
    scores["is_anomaly"] = scores["is_anomaly"].astype(bool)
    incidents = normalise_incidents(incidents)
    # windows of models the replay did not cover are neither hits nor misses
    incidents = incidents[incidents[schema.MODEL_ID].isin(scores[schema.MODEL_ID].unique())]
    incidents = incidents.reset_index(drop=True)
    per_inc = incident_table(scores, incidents, grace)
    false = false_alarms(scores, incidents, grace)
    span = scores.groupby(schema.MODEL_ID)[schema.TS].agg(["min", "max", "size"])
    days = ((span["max"] - span["min"]).dt.total_seconds() / 86400).clip(lower=1 / 24)
    fired = scores[scores["is_anomaly"]]
    per_model = pd.DataFrame(
        {
            "rows": span["size"],
            "days": days.round(2),
            "incidents": incidents.groupby(schema.MODEL_ID).size(),
            "detections": fired.groupby(schema.MODEL_ID).size(),
            "false_alarms": fired[false.reindex(fired.index).fillna(True).to_numpy(dtype=bool)]
            .groupby(schema.MODEL_ID)
            .size(),
        }
    ).fillna(0)
    per_model = per_model.astype({"incidents": int, "detections": int, "false_alarms": int})
    per_model["false_alarms_per_day"] = (per_model["false_alarms"] / per_model["days"]).round(3)
    nab_score, nab_decision = nab_style(scores, incidents, profile)
    n_det = len(fired)
    delays = per_inc.loc[per_inc["detected"], "delay_min"]
    summary = {
        "incidents": len(per_inc),
        "detected": int(per_inc["detected"].sum()) if len(per_inc) else 0,
        "recall": float(per_inc["detected"].mean()) if len(per_inc) else float("nan"),
        "detections": n_det,
        "precision": float(1 - false.mean()) if n_det else float("nan"),
        "mean_delay_min": float(delays.mean()) if len(delays) else float("nan"),
        "median_delay_min": float(delays.median()) if len(delays) else float("nan"),
        "false_alarms_per_model_day": float(false.sum() / days.sum()) if len(days) else 0.0,
        "nab_score": nab_score.score,
        "nab_score_threshold": nab_score.threshold,
        "nab_is_anomaly": nab_decision.score,
    }
    return Evaluation(per_inc, per_model.reset_index(names=schema.MODEL_ID), summary)


def format_summary(ev: Evaluation) -> str:
    """The headline table printed by `modelwatch evaluate`."""
    s = ev.summary
    lines = [
        f"incidents            {s['incidents']}  (detected {s['detected']})",
        f"event recall         {s['recall']:.3f}",
        f"event precision      {s['precision']:.3f}  ({s['detections']} detections)",
        f"delay mean / median  {s['mean_delay_min']:.1f} / {s['median_delay_min']:.1f} min",
        f"false alarms/model-day {s['false_alarms_per_model_day']:.3f}",
        f"NAB-style score      {s['nab_score']:.1f} (score, threshold "
        f"{s['nab_score_threshold']:.4g}),  {s['nab_is_anomaly']:.1f} (is_anomaly)",
    ]
    return "\n".join(lines)


def plot_incident(scores: pd.DataFrame, inc: pd.Series, path: Path, pad: pd.Timedelta) -> None:
    """One figure: the model's score around the window, the window shaded, detections marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    own = scores[
        (scores[schema.MODEL_ID] == inc[schema.MODEL_ID])
        & (scores[schema.TS] >= inc["start"] - pad)
        & (scores[schema.TS] <= inc["end"] + pad)
    ].sort_values(schema.TS)
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.plot(own[schema.TS], own["score"], lw=0.8, color="tab:blue", label="score")
    hits = own[own["is_anomaly"]]
    ax.scatter(hits[schema.TS], hits["score"], color="tab:red", zorder=3, s=18, label="detection")
    ax.axvspan(inc["start"], inc["end"], color="tab:orange", alpha=0.2, label="incident")
    ax.set_ylim(0, 1)
    ax.set_title(f"{inc[schema.MODEL_ID]} {inc.get('kind', '')}".strip(), fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_incident_report(
    ev: Evaluation, scores: pd.DataFrame, path: str | Path, pad: pd.Timedelta | None = None
) -> Path:
    """A Markdown report with the summary, the per-incident and per-model tables and one plot
    per incident (PNG files beside it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scores = scores.copy()
    scores[schema.TS] = pd.to_datetime(scores[schema.TS])
    scores[schema.MODEL_ID] = scores[schema.MODEL_ID].astype(str)
    scores["is_anomaly"] = scores["is_anomaly"].astype(bool)
    figs = path.parent / (path.stem + "_plots")
    figs.mkdir(exist_ok=True)
    parts = ["# Detection evaluation", "", "```", format_summary(ev), "```", ""]
    parts += ["## Incidents", "", ev.incidents.to_markdown(index=False), ""]
    parts += ["## Models", "", ev.models.to_markdown(index=False), "", "## Plots", ""]
    for i, inc in ev.incidents.iterrows():
        width = inc["end"] - inc["start"]
        png = figs / f"incident_{i:03d}.png"
        plot_incident(scores, inc, png, pad or max(width, pd.Timedelta(hours=6)))
        parts.append(f"![{inc[schema.MODEL_ID]}]({figs.name}/{png.name})")
    path.write_text("\n".join(parts) + "\n")
    return path
