"""The `logs` subcommands of `modelwatch` (registered by `modelwatch.cli.main`).

    modelwatch logs templates --input FILE.jsonl --out OUT.csv

One row per non-blank input line (`line`: its 1-based number in the file, `template_id`,
`template`; a line that cannot be mined has its reason as its template): the same masking,
miner and template cap as the pipeline (the top-level `--config` file's `logs` section), so the
miner can be judged against labelled log corpora.
"""

from __future__ import annotations

import argparse
import time
from typing import Any


def cmd_templates(args: argparse.Namespace) -> int:
    from modelwatch.config import load_settings
    from modelwatch.logs.corpus import templates_of_file

    cfg = load_settings(getattr(args, "config", None)).logs
    t0 = time.perf_counter()
    out = templates_of_file(args.input, cfg)
    out.to_csv(args.out, index=False)
    print(
        f"{len(out):,} lines -> {out['template_id'].nunique():,} templates in "
        f"{time.perf_counter() - t0:.1f} s -> {args.out}"
    )
    return 0


def add_commands(subparsers: Any) -> None:
    """Register `logs templates` on the `modelwatch` parser's subparsers."""
    sp = subparsers.add_parser("logs", help="log signatures")
    sub = sp.add_subparsers(dest="logs_command", required=True)
    t = sub.add_parser("templates", help="mine a JSON-lines file: one template per line")
    t.add_argument("--input", required=True, help="JSON lines: ts, model_id, level, message")
    t.add_argument("--out", required=True, help="output CSV: line, template_id, template")
    t.set_defaults(func=cmd_templates)
