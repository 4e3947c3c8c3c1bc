"""The episode judgement as text tables and as an HTML report with a plot per incident.

The plot shows what on-call would have seen of each incident in each run: the model's anomaly
score by hour, the threshold, the incident's window (shaded) and each run's pages (markers),
so "paged two hours later" can be checked by eye.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from modelwatch.evaluation.episodes import FLEET_ID, Judgement, RunRecord, pages
from modelwatch.run import HOUR

SUMMARY_LABELS = {
    "incidents": "incidents",
    "incidents_paged": "incidents paged",
    "delay_median_h": "delay to first page, median (h)",
    "delay_p90_h": "delay to first page, p90 (h)",
    "pages_per_incident": "pages per incident",
    "pages": "pages",
    "false_pages": "false pages",
    "false_pages_per_model_day": "false pages per model-day",
    "hours_firing_outside_incidents": "hours firing outside incidents",
    "actions": "actions that would have been taken",
}
#: Hours shown before an incident and after its end in each plot.
MARGIN = 6


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return "-"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def summary_table(judged: list[Judgement]) -> pd.DataFrame:
    """One row per figure, one column per run."""
    return pd.DataFrame(
        {j.label: [_fmt(j.summary.get(k)) for k in SUMMARY_LABELS] for j in judged},
        index=list(SUMMARY_LABELS.values()),
    )


def format_text(judged: list[Judgement], diffs: pd.DataFrame | None = None) -> str:
    """The tables for the terminal."""
    parts = [summary_table(judged).to_string()]
    for j in judged:
        shown = j.per_incident.drop(columns=["alerts"]).copy()
        parts += ["", f"incidents ({j.label}):", shown.to_string(index=False)]
        if len(j.actions):
            parts += ["", f"actions ({j.label}):", j.actions.to_string(index=False)]
    if diffs is not None:
        parts += ["", "incidents whose outcome differs:"]
        parts.append(diffs.to_string(index=False) if len(diffs) else "(none)")
    return "\n".join(parts)


def plot_incident(inc: pd.Series, runs: list[RunRecord], path: Path) -> Path:
    """The incident in every run: score, threshold, window, pages."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lo = pd.Timestamp(inc["start"]) - MARGIN * HOUR
    hi = pd.Timestamp(inc["end"]) + MARGIN * HOUR
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.axvspan(inc["start"], inc["end"], color="#f4b6b6", alpha=0.5, label="incident")
    for i, run in enumerate(runs):
        s = run.scores
        s = s[(s["model_id"] == inc["model_id"]) & (pd.to_datetime(s["hour"]).between(lo, hi))]
        s = s.sort_values("hour")
        (line,) = ax.plot(pd.to_datetime(s["hour"]), s["score"], marker=".", label=run.label)
        if len(s) and s["threshold"].notna().any():
            ax.axhline(float(s["threshold"].dropna().iloc[0]), color=line.get_color(), ls=":")
        p = pages(run.notifications)
        p = p[p["model_id"].isin([inc["model_id"], FLEET_ID]) & p["hour"].between(lo, hi)]
        ax.scatter(p["hour"], [1.04 + 0.05 * i] * len(p), marker="v", color=line.get_color())
    ax.set_ylim(0, 1.15 + 0.05 * len(runs))
    ax.set_ylabel("score")
    ax.set_title(f"{inc['model_id']}: {inc['kind']} (pages: triangles)", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def write_html(
    judged: list[Judgement],
    runs: list[RunRecord],
    out: str | Path,
    diffs: pd.DataFrame | None = None,
) -> Path:
    """The report: figures side by side, differing incidents, and each incident's plot."""
    out = Path(out)
    folder = out.parent / f"{out.stem}_plots"
    esc = html.escape
    body = [
        f"<h1>Alert episodes judged: {esc(' vs '.join(j.label for j in judged))}</h1>",
        summary_table(judged).to_html(),
    ]
    if diffs is not None:
        body.append("<h2>Incidents whose outcome differs</h2>")
        body.append(diffs.to_html(index=False) if len(diffs) else "<p>None.</p>")
    for j in judged:
        body.append(f"<h2>Incidents: {esc(j.label)}</h2>")
        body.append(j.per_incident.to_html(index=False))
        body.append(f"<h3>Actions: {esc(j.label)}</h3>")
        body.append(j.actions.to_html(index=False) if len(j.actions) else "<p>None.</p>")
    body.append("<h2>Each incident</h2>")
    for i, inc in judged[0].per_incident.iterrows():
        png = plot_incident(inc, runs, folder / f"incident-{i:03d}.png")
        body.append(
            f"<h3>{esc(str(inc['model_id']))}: {esc(str(inc['kind']))}</h3>"
            f'<img alt="incident {i}" src="{esc(folder.name)}/{esc(png.name)}">'
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>modelwatch: episodes</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    return out
