"""Bad log rows are counted and skipped with a reason, never allowed to fail the hour.

Log lines come from code we do not own: a null or enormous message, bytes that are not UTF-8,
a model id nobody knows, a missing timestamp. Each is dropped from mining and counted per model
and reason (`mw_log_rejects`), so "why are there fewer lines?" has an answer.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

NULL_TS, NULL_MODEL, NULL_MESSAGE = "null_ts", "null_model_id", "null_message"
HUGE, INVALID_UTF8, UNKNOWN_MODEL = "huge_message", "invalid_utf8", "unknown_model"
#: Levels as stored: synonyms folded, anything else kept upper-cased (`UNKNOWN` if empty).
LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL", "ERR": "ERROR", "SEVERE": "ERROR"}
REJECT_COLUMNS = ["model_id", "reason", "n"]


def _valid_utf8(text: object) -> bool:
    if not isinstance(text, str):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8
        return False
    return "\ufffd" not in text  # replacement characters of a lossy decode


def _safe_id(model: object) -> str:
    """A model id fit to store: `?` for none, bad bytes replaced, at most 200 characters."""
    if not isinstance(model, str) or not model.strip():
        return "?"
    return model.encode("utf-8", "replace").decode("utf-8")[:200]


def normalise_level(level: pd.Series) -> pd.Series:
    up = level.astype("string").str.strip().str.upper().fillna("UNKNOWN")
    up = up.mask(up == "", "UNKNOWN")
    return up.replace(LEVELS).astype(object)


def clean_lines(
    lines: pd.DataFrame, known_models: Collection[str] | None, max_chars: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the mineable lines, rejects per model and reason). `known_models` None: any model."""
    n = len(lines)
    reason = np.full(n, None, dtype=object)
    ts = pd.to_datetime(lines["ts"], errors="coerce") if n else lines["ts"]
    model = lines["model_id"]
    msg = lines["message"]

    def flag(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason == None)] = why  # noqa: E711 - elementwise

    if n:
        flag(ts.isna().to_numpy(), NULL_TS)
        flag(
            np.fromiter((not isinstance(m, str) or not m.strip() for m in model), bool, n),
            NULL_MODEL,
        )
        flag(msg.isna().to_numpy(), NULL_MESSAGE)
        lengths = np.fromiter((len(m) if isinstance(m, str) else 0 for m in msg), np.int64, n)
        flag(lengths > max_chars, HUGE)
        flag(~np.fromiter((_valid_utf8(m) for m in msg), bool, n), INVALID_UTF8)
        if known_models is not None:
            known = set(known_models)
            flag(~np.fromiter((m in known for m in model), bool, n), UNKNOWN_MODEL)
    bad = reason != None  # noqa: E711
    rejects = (
        pd.DataFrame(
            {
                "model_id": [_safe_id(m) for m in model[bad]],
                "reason": reason[bad],
            }
        )
        .groupby(["model_id", "reason"], as_index=False)
        .size()
        .rename(columns={"size": "n"})
        if bad.any()
        else pd.DataFrame(columns=REJECT_COLUMNS)
    )
    good = lines.loc[~bad].copy()
    good["ts"] = ts[~bad].astype("datetime64[us]") if n else good["ts"]
    good["model_id"] = good["model_id"].astype(str)
    good["message"] = good["message"].astype(str)
    good["level"] = normalise_level(good["level"]) if "level" in good else "UNKNOWN"
    return good.reset_index(drop=True), rejects.reset_index(drop=True)
