"""Bad log rows are counted and skipped with a reason, never allowed to fail the hour.

Log lines come from code we do not own: a null message, bytes that are not UTF-8, a model id
nobody knows, a missing timestamp. Each is dropped from mining and counted per model and reason
(`mw_log_rejects`), so "why are there fewer lines?" has an answer. An enormous message is not
dropped: its tail is cut at `max_message_chars` and the line counted as `truncated` (still
mined). Text is made safe here, at the input edge (`sanitize`), and timestamps of any kind
(naive, `timestamptz`, strings) become naive UTC (`modelwatch.timestamps`).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from modelwatch.logs.sanitize import cut, has_surrogate, safe_text
from modelwatch.timestamps import naive_utc

NULL_TS, NULL_MODEL, NULL_MESSAGE = "null_ts", "null_model_id", "null_message"
INVALID_UTF8, UNKNOWN_MODEL = "invalid_utf8", "unknown_model"
#: Not a reject: the line is mined on its head, and counted under this reason.
TRUNCATED = "truncated"
#: Levels as stored: synonyms folded, anything else kept upper-cased (`UNKNOWN` if empty).
LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL", "ERR": "ERROR", "SEVERE": "ERROR"}
REJECT_COLUMNS = ["model_id", "reason", "n"]


def _valid_utf8(text: object) -> bool:
    if not isinstance(text, str):
        return True
    # lone surrogates: bytes that were not UTF-8; replacement characters of a lossy decode
    return not has_surrogate(text) and "\ufffd" not in text


def _safe_id(model: object) -> str:
    """A model id fit to store: `?` for none, bad characters replaced, at most 200."""
    if not isinstance(model, str) or not model.strip():
        return "?"
    return str(safe_text(model, 200))


def _per_distinct(values: pd.Series, fn) -> pd.Series:
    """`fn` of each value, computed once per distinct value (ids, levels and messages repeat);
    nulls stay None."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    done = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(done[codes], index=values.index, dtype=object)


def normalise_level(level: pd.Series) -> pd.Series:
    up = level.astype("string").str.strip().str.upper().fillna("UNKNOWN")
    up = up.mask(up == "", "UNKNOWN")
    return up.replace(LEVELS).astype(object)


def clean_lines(
    lines: pd.DataFrame, known_models: Collection[str] | None, max_chars: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the mineable lines, rejects per model and reason). `known_models` None: any model.
    Lines cut at `max_chars` are mined and also counted in the second frame as `truncated`."""
    n = len(lines)
    reason = np.full(n, None, dtype=object)
    ts = naive_utc(lines["ts"], errors="coerce") if n else lines["ts"]
    model = _per_distinct(lines["model_id"], safe_text)
    msg = lines["message"]

    def flag(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason == None)] = why  # noqa: E711 - elementwise

    cut_flags = np.zeros(n, dtype=bool)
    if n:
        flag(ts.isna().to_numpy(), NULL_TS)
        flag(
            np.fromiter((not isinstance(m, str) or not m.strip() for m in model), bool, n),
            NULL_MODEL,
        )
        flag(msg.isna().to_numpy(), NULL_MESSAGE)
        done = _per_distinct(msg, lambda m: cut(m, max_chars) if isinstance(m, str) else (m, False))
        cut_flags = np.fromiter((bool(d and d[1]) for d in done), bool, n)
        msg = pd.Series([d[0] if d else None for d in done], index=lines.index, dtype=object)
        flag(~np.fromiter((_valid_utf8(m) for m in msg), bool, n), INVALID_UTF8)
        if known_models is not None:
            known = set(known_models)
            flag(~np.fromiter((m in known for m in model), bool, n), UNKNOWN_MODEL)
    bad = reason != None  # noqa: E711
    truncated = cut_flags & ~bad
    reason[truncated] = TRUNCATED
    counted = bad | truncated
    rejects = (
        pd.DataFrame(
            {
                "model_id": [_safe_id(m) for m in model[counted]],
                "reason": reason[counted],
            }
        )
        .groupby(["model_id", "reason"], as_index=False)
        .size()
        .rename(columns={"size": "n"})
        if counted.any()
        else pd.DataFrame(columns=REJECT_COLUMNS)
    )
    good = lines.loc[~bad].copy()
    good["ts"] = ts[~bad].astype("datetime64[us]") if n else good["ts"]
    good["model_id"] = model[~bad].astype(str) if n else good["model_id"]
    good["message"] = msg[~bad].astype(str) if n else good["message"]
    for col in ("logger", "trace_id"):
        if col in good:
            good[col] = [safe_text(v) for v in good[col]]
    good["level"] = (
        normalise_level(
            pd.Series([safe_text(v, 40) for v in good["level"]], dtype=object)
        ).set_axis(good.index)
        if "level" in good
        else "UNKNOWN"
    )
    return good.reset_index(drop=True), rejects.reset_index(drop=True)


def skipped(rejects: pd.DataFrame) -> int:
    """Lines not mined: every counted reason but `truncated`."""
    if rejects.empty:
        return 0
    return int(rejects.loc[rejects["reason"] != TRUNCATED, "n"].sum())
