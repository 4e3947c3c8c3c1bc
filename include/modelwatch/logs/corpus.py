"""Mine a whole JSON-lines file at once, one template per line, so the miner can be judged
against labelled log corpora (`modelwatch logs templates`).

The file is one "day": its templates are learned from all its lines (the same masking, miner
and template cap as the pipeline), then every line is matched against them. Each non-blank
line gets a row, numbered as in the file: a line that cannot be mined gets its reason as its
template (`invalid_json`, `null_message`, `invalid_utf8` for a lone surrogate, `truncated` for
a message longer than `logs.max_message_chars`), and lines of templates beyond the cap share
the "other" template. Times and model ids are not needed here and not checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from modelwatch.config import LogsConfig
from modelwatch.logs.clean import INVALID_UTF8, NULL_MESSAGE, TRUNCATED
from modelwatch.logs.miner import OTHER_ID, OTHER_TEXT, FrozenTemplates, learn_templates
from modelwatch.logs.sanitize import cut, has_surrogate
from modelwatch.logs.sources import INVALID, INVALID_JSON, LINE, read_jsonl
from modelwatch.logs.step import masked_column

COLUMNS = ["line", "template_id", "template"]


def _reason(message: object, max_chars: int) -> tuple[str | None, str]:
    """(why the message cannot be mined or None, its text to mine)."""
    if message is None or (isinstance(message, float) and np.isnan(message)):
        return NULL_MESSAGE, ""
    text = message if isinstance(message, str) else str(message)
    text, was_cut = cut(text, max_chars)
    if has_surrogate(text):
        return INVALID_UTF8, ""
    return (TRUNCATED if was_cut else None), text


def templates_of_file(path: str | Path, cfg: LogsConfig | None = None) -> pd.DataFrame:
    """`line` (1-based, as in the file; blank lines have no row), `template_id`, `template`."""
    cfg = cfg or LogsConfig()
    frame = read_jsonl(Path(path), cfg)
    reasons: list[str | None] = []
    texts: list[str] = []
    for invalid, message in zip(frame[INVALID], frame["message"], strict=True):
        why, text = (INVALID_JSON, "") if invalid else _reason(message, cfg.max_message_chars)
        reasons.append(why)
        texts.append(text)
    good = np.array([r is None for r in reasons], dtype=bool)
    masked = masked_column(pd.Series(texts, dtype=object)[good])
    learned = learn_templates(masked, cfg.max_templates)
    frozen = FrozenTemplates({tid: text for tid, (text, _) in learned.items()})
    codes, uniques = pd.factorize(masked, sort=False)
    hits = [frozen.match(m) for m in uniques]
    hits = [(OTHER_ID, OTHER_TEXT) if not tid.startswith("t") else (tid, t) for tid, t in hits]
    ids = np.array([f"r-{r}" if r else "" for r in reasons], dtype=object)
    shown = np.array([r or "" for r in reasons], dtype=object)
    if len(codes):
        ids[good] = np.array([h[0] for h in hits], dtype=object)[codes]
        shown[good] = np.array([h[1] for h in hits], dtype=object)[codes]
    return pd.DataFrame(
        {"line": frame[LINE].astype("int64"), "template_id": ids, "template": shown}
    )


def grouping_accuracy(labels: Sequence[str], found: Sequence[str]) -> float:
    """The share of lines whose group of lines (by `found`) is exactly their label's group:
    how a miner is judged against a labelled corpus."""
    by_found: dict[str, set[int]] = {}
    by_label: dict[str, set[int]] = {}
    for i, (lab, got) in enumerate(zip(labels, found, strict=True)):
        by_found.setdefault(got, set()).add(i)
        by_label.setdefault(lab, set()).add(i)
    truth = {frozenset(g) for g in by_label.values()}
    return sum(len(g) for g in by_found.values() if frozenset(g) in truth) / max(len(labels), 1)
