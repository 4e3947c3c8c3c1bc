"""`modelwatch logs templates`: one row per non-blank input line, numbered as in the file,
whatever the line holds; lines that cannot be mined carry their reason as their template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from modelwatch.config import LogsConfig
from modelwatch.logs.corpus import templates_of_file
from modelwatch.logs.miner import OTHER_ID

ROOT = Path(__file__).resolve().parents[3]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rec(message: object, **extra: object) -> str:
    return json.dumps({"ts": "2026-11-01T09:00:00Z", "model_id": "m", "message": message, **extra})


def test_every_line_gets_a_row_with_its_file_line_number(tmp_path) -> None:
    path = _write(
        tmp_path / "f.jsonl",
        [
            rec("GC pause 12 ms"),
            "",
            "not json at all",
            rec(None),
            rec("GC pause 40 ms", level="ERR\ud800", logger="\udfff", trace_id="\ud800x"),
            rec("lone \ud800 surrogate"),
            rec("y" * 500),
            rec(12345),
            rec("GC pause 7 ms"),
        ],
    )
    out = templates_of_file(path, LogsConfig(max_message_chars=100))
    assert out["line"].tolist() == [1, 3, 4, 5, 6, 7, 8, 9]
    by_line = dict(zip(out["line"], out["template"], strict=True))
    assert by_line[3] == "invalid_json" and by_line[4] == "null_message"
    assert by_line[6] == "invalid_utf8" and by_line[7] == "truncated"
    ids = dict(zip(out["line"], out["template_id"], strict=True))
    assert ids[1] == ids[5] == ids[9] and by_line[1] == "GC pause <*> ms"


def test_lines_beyond_the_template_cap_share_one_other_template(tmp_path) -> None:
    words = ["alpha", "bravo", "cedar", "delta", "ember", "falcon", "garnet", "harbor"]
    lines = [rec(f"{a} {b} {c}") for a in words for b in words for c in words[:3]]
    path = _write(tmp_path / "f.jsonl", lines)
    out = templates_of_file(path, LogsConfig(max_templates=5))
    assert len(out) == len(lines)
    assert out["template_id"].nunique() <= 6
    assert (out["template_id"] == OTHER_ID).any()


def test_the_command_writes_the_csv(tmp_path) -> None:
    path = _write(tmp_path / "f.jsonl", [rec(f"user {u} logged in") for u in ("a1", "b2")])
    out = tmp_path / "o.csv"
    env = {"PYTHONPATH": str(ROOT / "include"), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        [sys.executable, "-m", "modelwatch.cli.main", "logs", "templates", "--input", str(path),
         "--out", str(out)],
        check=True, env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    got = pd.read_csv(out)
    assert got.columns.tolist() == ["line", "template_id", "template"]
    assert got["template"].tolist() == ["user <*> logged in"] * 2
