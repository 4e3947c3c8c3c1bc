"""Bad log rows are counted per model and reason and skipped, never raised; text is made safe
and times naive UTC at the input edge."""

from __future__ import annotations

import pandas as pd

from modelwatch.logs.clean import (
    INVALID_UTF8,
    NULL_MESSAGE,
    NULL_MODEL,
    NULL_TS,
    TRUNCATED,
    UNKNOWN_MODEL,
    clean_lines,
    skipped,
)
from modelwatch.logs.sanitize import strip_controls


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
    good, rejects = clean_lines(lines, {"m1"}, max_chars=64)
    assert good["message"].tolist() == ["ok line", "x" * 64]  # the long one mined on its head
    assert good["level"].tolist() == ["WARN", "INFO"]
    got = {(r.model_id, r.reason): r.n for r in rejects.itertuples(index=False)}
    assert got == {
        ("m1", NULL_MESSAGE): 1,
        ("m1", TRUNCATED): 1,
        ("m1", INVALID_UTF8): 2,
        ("?", NULL_MODEL): 1,
        ("m1", NULL_TS): 1,
        ("ghost", UNKNOWN_MODEL): 1,
    }
    assert skipped(rejects) == 6  # truncated lines are mined, not skipped


def test_no_lines_is_no_rejects() -> None:
    empty = pd.DataFrame(columns=["ts", "model_id", "level", "message"])
    good, rejects = clean_lines(empty, None, 100)
    assert good.empty and rejects.empty


def test_a_lone_surrogate_outside_the_message_keeps_the_line_and_cannot_be_stored_raw() -> None:
    ts = pd.Timestamp("2026-11-01 09:10")
    lines = pd.DataFrame(
        [
            (ts, "m1", "ERR\ud800", "a", "log\udfff", "tr\ud800ce"),
            (ts, "m\ud800", "INFO", "b", None, None),
            (ts, "m1", "INFO", "c", None, None),
        ],
        columns=["ts", "model_id", "level", "message", "logger", "trace_id"],
        dtype=object,
    )
    good, rejects = clean_lines(lines, None, 100)
    assert good["message"].tolist() == ["a", "b", "c"]
    for col in ("model_id", "level", "logger", "trace_id"):
        for v in good[col].dropna():
            v.encode("utf-8")  # would raise on a lone surrogate, as the warehouse insert did
    assert rejects.empty


def test_ansi_escapes_and_control_bytes_are_stripped_at_the_edge() -> None:
    ts = pd.Timestamp("2026-11-01 09:10")
    raw = "\x1b[31mERROR\x1b[0m disk\x00 full\x07\r\n"
    raw += "\x1b]8;;http://evil\x07link\x1b]8;;\x07 \u202eevil"
    lines = pd.DataFrame(
        [(ts, "m1", "\x1b[1mWARN\x00", raw)], columns=["ts", "model_id", "level", "message"]
    )
    good, _ = clean_lines(lines, None, 1000)
    assert good["message"].iloc[0] == "ERROR disk full\nlink evil"
    assert good["level"].iloc[0] == "WARN"
    assert strip_controls("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


def test_aware_and_string_timestamps_become_naive_utc() -> None:
    aware = pd.Series(pd.to_datetime(["2026-11-01T10:10:00+01:00"], utc=True))
    for ts in (aware, pd.Series(["2026-11-01T10:10:00+01:00"], dtype=object)):
        lines = pd.DataFrame({"ts": ts, "model_id": ["m1"], "level": ["INFO"], "message": ["x"]})
        good, rejects = clean_lines(lines, None, 100)
        assert rejects.empty
        assert good["ts"].iloc[0] == pd.Timestamp("2026-11-01 09:10")
        assert good["ts"].dt.tz is None
