"""Mine an hour's logs (the `logs` task) and learn a day's templates (the training pass).

An hour is mined once: its marker row in `mw_log_hours` makes every later run read the stored
counts instead. Its lines are matched against the frozen templates of its day; a day that was
never trained (no `model_training` run) is trained here first, from the same window the
training pass would use, so the result is the same whoever trained it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.config import Settings
from modelwatch.logs import store
from modelwatch.logs.clean import REJECT_COLUMNS, clean_lines, skipped
from modelwatch.logs.masking import mask, mask_secrets
from modelwatch.logs.miner import OTHER_ID, OTHER_TEXT, FrozenTemplates, learn_templates
from modelwatch.logs.sources import INVALID_JSON, read_lines
from modelwatch.run import HOUR
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)

#: Example lines kept per signature, and their length.
N_EXAMPLES, EXAMPLE_CHARS = 2, 300


def masked_column(messages: pd.Series) -> np.ndarray:
    """Each message's masked form, masking every distinct message once."""
    codes, uniques = pd.factorize(messages, sort=False)
    done = np.array([mask(m) for m in uniques], dtype=object)
    return done[codes] if len(codes) else np.array([], dtype=object)


def assign(
    lines: pd.DataFrame, templates: FrozenTemplates, max_new: int | None = None
) -> pd.DataFrame:
    """The lines with `template_id` and `template` of their signature. With `max_new`, each
    model keeps at most that many signatures of unmatched lines (its most frequent ones, ties
    by text); its other unmatched lines count as one "other" signature."""
    masked = masked_column(lines["message"])
    codes, uniques = pd.factorize(masked, sort=False)
    hits = [templates.match(m) for m in uniques]
    ids = np.array([h[0] for h in hits], dtype=object)
    texts = np.array([h[1] for h in hits], dtype=object)
    out = lines.copy()
    out["template_id"] = ids[codes] if len(codes) else []
    out["template"] = texts[codes] if len(codes) else []
    if max_new is not None and len(out):
        new = out[out["template_id"].str.startswith("u")]
        sizes = new.groupby(["model_id", "template_id", "template"], sort=False).size()
        sizes = sizes.reset_index(name="n").sort_values(
            ["model_id", "n", "template"], ascending=[True, False, True], kind="stable"
        )
        over = sizes[sizes.groupby("model_id").cumcount() >= max_new]
        if len(over):
            hit = pd.MultiIndex.from_frame(out[["model_id", "template_id"]]).isin(
                pd.MultiIndex.from_frame(over[["model_id", "template_id"]])
            )
            out.loc[hit, "template_id"] = OTHER_ID
            out.loc[hit, "template"] = OTHER_TEXT
    return out


def train_day(wh: Warehouse, settings: Settings, day: datetime) -> dict[str, Any]:
    """Learn the day's templates from the `baseline_days` before it, and its baseline profile."""
    cfg = settings.logs
    start = day - timedelta(days=cfg.baseline_days)
    raw, _ = read_lines(wh, cfg, start, day)
    lines, _ = clean_lines(raw, None, cfg.max_message_chars)
    masked = masked_column(lines["message"]) if len(lines) else np.array([], dtype=object)
    learned = learn_templates(masked, cfg.max_templates)
    templates = pd.DataFrame(
        [
            {"day": day, "template_id": tid, "template": text, "n_train": n}
            for tid, (text, n) in sorted(learned.items())
        ],
        columns=["day", "template_id", "template", "n_train"],
    )
    frozen = FrozenTemplates({tid: text for tid, (text, _) in learned.items()})
    baseline = pd.DataFrame(columns=store.BASELINE_COLUMNS)
    if len(lines):
        tagged = assign(lines, frozen, cfg.max_templates)
        tagged["hour"] = tagged["ts"].dt.floor("h")
        per_hour = tagged.groupby(["model_id", "template_id", "level", "hour"], as_index=False).agg(
            n=("message", "size"), first=("ts", "min")
        )
        per_hour["hour_of_day"] = per_hour["hour"].dt.hour.astype("int64")
        baseline = per_hour.groupby(
            ["model_id", "template_id", "level", "hour_of_day"], as_index=False
        ).agg(total=("n", "sum"), peak=("n", "max"))
        first = per_hour.groupby(["model_id", "template_id"], as_index=False)["first"].min()
        baseline = baseline.merge(first, on=["model_id", "template_id"]).rename(
            columns={"first": "first_seen"}
        )
        baseline["day"] = day
        baseline["first_seen"] = baseline["first_seen"].astype("datetime64[us]")
        baseline = baseline[store.BASELINE_COLUMNS]
    store.save_day(wh, day, templates, baseline)
    log.info("log templates for %s: %d from %d lines", day.date(), len(templates), len(lines))
    return {"day": day.isoformat(), "templates": len(templates), "lines": len(lines)}


def count_hour(lines: pd.DataFrame, hour: datetime) -> pd.DataFrame:
    """Per model, signature and level: lines, the first one's time, two example lines."""
    if lines.empty:
        return pd.DataFrame(columns=store.COUNT_COLUMNS)
    keys = ["model_id", "template_id", "level"]
    ordered = lines.sort_values(["ts", "model_id", "message"], kind="stable")
    agg = ordered.groupby(keys, as_index=False, sort=True).agg(
        template=("template", "first"), n=("message", "size"), first_ts=("ts", "min")
    )
    heads = ordered.drop_duplicates([*keys, "message"]).groupby(keys, sort=True).head(N_EXAMPLES)
    examples = heads.groupby(keys, sort=True)["message"].agg(
        lambda s: json.dumps([mask_secrets(m)[:EXAMPLE_CHARS] for m in s])
    )
    agg = agg.merge(examples.rename("examples").reset_index(), on=keys)
    agg["hour"] = hour
    agg["first_ts"] = agg["first_ts"].astype("datetime64[us]")
    agg["n"] = agg["n"].astype("int64")
    return agg[store.COUNT_COLUMNS]


def mine_hour(
    wh: Warehouse,
    settings: Settings,
    hour: datetime,
    known: Collection[str] | None,
    run_id: str,
) -> dict[str, Any]:
    """Count the hour's lines per model and signature, once; later runs read the marker."""
    done = store.mined(wh, hour)
    if done is not None:
        log.info("logs of %s were mined already (run %s): not mining again", hour, done["run_id"])
        return {"hour": hour.isoformat(), "mined_before": True, "lines": int(done["lines"])}
    cfg = settings.logs
    day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
    templates = store.load_templates(wh, day)
    if templates is None:
        train_day(wh, settings, day)
        templates = store.load_templates(wh, day) or {}
    raw, unparsable = read_lines(wh, cfg, hour, hour + HOUR)
    lines, rejects = clean_lines(raw, known, cfg.max_message_chars)
    if unparsable:
        extra = pd.DataFrame([{"model_id": "?", "reason": INVALID_JSON, "n": unparsable}])
        rejects = pd.concat([rejects, extra], ignore_index=True)
    rejects = rejects.reindex(columns=REJECT_COLUMNS)
    rejects.insert(0, "hour", hour)
    frozen = FrozenTemplates({k: v for k, v in templates.items() if v})
    tagged = (
        assign(lines, frozen, cfg.max_templates)
        if len(lines)
        else lines.assign(template_id=[], template=[])
    )
    counts = count_hour(tagged, hour)
    unmatched = (
        int((~tagged["template_id"].astype(str).str.startswith("t")).sum()) if len(tagged) else 0
    )
    marker = {
        "hour": hour,
        "lines": len(tagged),
        "matched": len(tagged) - unmatched,
        "unmatched": unmatched,
        "skipped": skipped(rejects),
        "templates_day": day,
        "run_id": run_id,
    }
    store.save_hour(wh, hour, counts, rejects, marker)
    if len(rejects):
        log.warning(
            "skipped %d bad log rows in %s (truncated ones are mined): %s",
            marker["skipped"],
            hour,
            rejects.groupby("reason")["n"].sum().to_dict(),
        )
    return {
        "hour": hour.isoformat(),
        "mined_before": False,
        **{k: marker[k] for k in ("lines", "matched", "unmatched", "skipped")},
    }
