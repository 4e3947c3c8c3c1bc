"""The log tables: a day's templates and baseline, an hour's counts, rejects and marker."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from modelwatch.warehouse import Warehouse

COUNT_COLUMNS = [
    "hour",
    "model_id",
    "template_id",
    "level",
    "template",
    "n",
    "first_ts",
    "examples",
]
BASELINE_COLUMNS = [
    "day",
    "model_id",
    "template_id",
    "level",
    "hour_of_day",
    "total",
    "peak",
    "first_seen",
]


def load_templates(wh: Warehouse, day: datetime) -> dict[str, str] | None:
    """The day's frozen templates, or None when the day was never trained."""
    if not wh.table_exists("mw_log_hours"):
        return None
    frame = wh.query(
        "SELECT template_id, template FROM mw_log_templates WHERE day = :d", {"d": day}
    )
    trained = wh.query("SELECT COUNT(*) AS n FROM mw_log_baseline WHERE day = :d", {"d": day})
    if frame.empty and int(trained["n"].iloc[0]) == 0:
        return None
    return dict(zip(frame["template_id"], frame["template"], strict=True))


def save_day(wh: Warehouse, day: datetime, templates: pd.DataFrame, baseline: pd.DataFrame) -> None:
    """Replace the day's templates and baseline in one transaction. A day whose window held no
    line keeps one marker template, so it counts as trained."""
    if templates.empty:
        templates = pd.DataFrame(
            [{"day": day, "template_id": "t-none", "template": "", "n_train": 0}]
        )
    with wh.transaction():
        wh.replace("mw_log_templates", templates, "day = :d", {"d": day})
        wh.replace("mw_log_baseline", baseline, "day = :d", {"d": day})


def mined(wh: Warehouse, hour: datetime) -> dict[str, object] | None:
    """The hour's marker row, if the hour was mined already."""
    got = wh.query("SELECT * FROM mw_log_hours WHERE hour = :h", {"h": hour})
    return None if got.empty else got.iloc[0].to_dict()


def save_hour(
    wh: Warehouse,
    hour: datetime,
    counts: pd.DataFrame,
    rejects: pd.DataFrame,
    marker: dict[str, object],
) -> None:
    """The hour's counts, rejects and marker, all or nothing (the marker last)."""
    where, p = "hour = :h", {"h": hour}
    with wh.transaction():
        wh.replace("mw_log_counts", counts, where, p)
        wh.replace("mw_log_rejects", rejects, where, p)
        wh.replace("mw_log_hours", pd.DataFrame([marker]), where, p)
