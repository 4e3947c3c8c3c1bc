"""Bad log rows are counted per model and reason and skipped, never raised."""

from __future__ import annotations

import pandas as pd

from modelwatch.logs.clean import (
    HUGE,
    INVALID_UTF8,
    NULL_MESSAGE,
    NULL_MODEL,
    NULL_TS,
    UNKNOWN_MODEL,
    clean_lines,
)


def test_every_bad_row_is_counted_with_its_reason() -> None:
    ts = pd.Timestamp("2026-11-01 09:10")
    lines = pd.DataFrame(
        [
            (ts, "m1", "warning", "ok line"),
            (ts, "m1", "INFO", None),
            (ts, "m1", "INFO", "x" * 100),
            (ts, "m1", "INFO", "bad \udcff bytes"),
            (ts, "m1", "INFO", "lossy \ufffd decode"),
            (ts, None, "INFO", "no model"),
            (None, "m1", "INFO", "no time"),
            (ts, "ghost", "INFO", "who?"),
        ],
        columns=["ts", "model_id", "level", "message"],
        dtype=object,  # as parsed from JSON lines: a lone surrogate is no valid str column
    )
    good, rejects = clean_lines(lines, {"m1"}, max_chars=50)
    assert good["message"].tolist() == ["ok line"]
    assert good["level"].tolist() == ["WARN"]
    got = {(r.model_id, r.reason): r.n for r in rejects.itertuples(index=False)}
    assert got == {
        ("m1", NULL_MESSAGE): 1,
        ("m1", HUGE): 1,
        ("m1", INVALID_UTF8): 2,
        ("?", NULL_MODEL): 1,
        ("m1", NULL_TS): 1,
        ("ghost", UNKNOWN_MODEL): 1,
    }


def test_no_lines_is_no_rejects() -> None:
    empty = pd.DataFrame(columns=["ts", "model_id", "level", "message"])
    good, rejects = clean_lines(empty, None, 100)
    assert good.empty and rejects.empty
