"""Time `modelwatch logs templates` end to end (a new process each, start-up included).

    nice -n 10 python bench/bench_log_templates.py [--lines 1000000] [--skip-hostile]

Cases: `--lines` lines (default 1,000,000) drawn from the labelled corpus's eight formats
(`bench/logs`: nearly every line distinct, as real logs are), then three hostile files: 20 lines
of 200 KB, one line of 10 MB, and 50,000 distinct lines of random words (each its own
template, so the template cap and its "other" template are reached). Each prints its lines,
output rows, templates and seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def corpus_file(path: Path, lines: int) -> None:
    sys.path.insert(0, str(HERE / "logs"))
    from make_corpus import FORMATS, generate

    per = lines // len(FORMATS)
    with path.open("w", encoding="utf-8") as fh:
        for seed, name in enumerate(FORMATS):
            for r in generate(name, per + (lines - per * len(FORMATS) if seed == 0 else 0), 7):
                fh.write(json.dumps(r) + "\n")


def hostile_files(folder: Path, distinct: int, big_kb: int) -> dict[str, Path]:
    g = random.Random(5)
    out = {}
    words = [f"{w}" for w in ("ab", "cd", "ef", "gh", "ij", "kl", "mn", "op", "qr", "st")]
    long = folder / "long.jsonl"
    with long.open("w") as fh:
        for i in range(20):
            unit = ("a1", "x=", "/a", "ab")[i % 4]
            fh.write(json.dumps({"message": unit * (big_kb * 512)}) + "\n")
    out[f"20 lines of {big_kb} KB"] = long
    huge = folder / "huge.jsonl"
    huge.write_text(json.dumps({"message": "a1" * (big_kb * 25_600)}) + "\n")
    out[f"1 line of {big_kb * 50 / 1000:g} MB"] = huge
    many = folder / "many.jsonl"
    with many.open("w") as fh:
        for _ in range(distinct):
            text = " ".join("".join(g.choice(words) for _ in range(3)) for _ in range(6))
            fh.write(json.dumps({"message": text}) + "\n")
    out[f"{distinct:,} distinct lines"] = many
    return out


def run(path: Path, out: Path) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "modelwatch.cli.main", "logs", "templates", "--input", str(path),
         "--out", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    secs = time.perf_counter() - t0
    import pandas as pd

    got = pd.read_csv(out, usecols=["template_id"])
    return secs, len(got), got["template_id"].nunique()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--distinct", type=int, default=50_000)
    p.add_argument("--big-kb", type=int, default=200, help="size of the long lines (KB)")
    p.add_argument("--skip-hostile", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-templates-") as tmp:
        folder = Path(tmp)
        cases = {}
        if args.lines:
            corpus_file(folder / "corpus.jsonl", args.lines)
            cases[f"{args.lines:,} corpus lines"] = folder / "corpus.jsonl"
        if not args.skip_hostile:
            cases.update(hostile_files(folder, args.distinct, args.big_kb))
        for name, path in cases.items():
            secs, rows, templates = run(path, folder / "out.csv")
            print(f"{name:24} {rows:>10,} rows {templates:>7,} templates {secs:7.1f} s")


if __name__ == "__main__":
    main()
