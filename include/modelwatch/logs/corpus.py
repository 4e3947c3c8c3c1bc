"""Mine a whole JSON-lines file at once: one template per input line, so the miner can be
judged against labelled log corpora (`modelwatch logs templates`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from modelwatch.config import LogsConfig
from modelwatch.logs.miner import FrozenTemplates, learn_templates
from modelwatch.logs.sources import parse_jsonl
from modelwatch.logs.step import masked_column


def templates_of_file(path: str | Path, cfg: LogsConfig | None = None) -> pd.DataFrame:
    """`line` (from 1, over the lines that parse), `template_id`, `template`. Lines with a null
    message get an empty template of their own."""
    cfg = cfg or LogsConfig()
    frame, _ = parse_jsonl(Path(path), cfg)
    messages = frame["message"].fillna("").astype(str)
    masked = masked_column(messages)
    learned = learn_templates(masked, cfg.drain_sim_th, cfg.drain_depth)
    frozen = FrozenTemplates({tid: text for tid, (text, _) in learned.items()})
    hits = [frozen.match(m) for m in masked]
    return pd.DataFrame(
        {
            "line": range(1, len(hits) + 1),
            "template_id": [h[0] for h in hits],
            "template": [h[1] for h in hits],
        }
    )
