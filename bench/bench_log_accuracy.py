"""Grouping accuracy of `modelwatch logs templates` on our own labelled corpus, per format.

    python bench/bench_log_accuracy.py [--data bench/logs/data] [--masks-only]

The corpus (`bench/logs/data/*.jsonl`, written by `bench/logs/make_corpus.py`) holds lines of
invented logging statements in eight formats (web server, syslog/kernel, JVM, cloud controller,
proxy, Windows events, mobile app, database), each labelled with the statement that wrote it.
Grouping accuracy: the share of lines whose predicted group is exactly their statement's group
of lines. Every file is mined as the CLI mines it (`logs.corpus.templates_of_file`: learn the
file's templates, then match each line). `--masks-only` scores the masked text alone as the
group (no miner), to show what the grouping step adds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "logs" / "data"


def score_file(path: Path, masks_only: bool) -> tuple[float, int, int, float]:
    """(accuracy, lines, statements, seconds) of one labelled file."""
    from modelwatch.logs.corpus import grouping_accuracy, templates_of_file
    from modelwatch.logs.masking import mask

    records = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    labels = [r["statement"] for r in records]
    t0 = time.perf_counter()
    if masks_only:
        found = [mask(r["message"]) for r in records]
    else:
        found = templates_of_file(path)["template_id"].tolist()
    return grouping_accuracy(labels, found), len(labels), len(set(labels)), time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", default=str(DATA), help="folder of labelled *.jsonl files")
    p.add_argument("--masks-only", action="store_true", help="score the masked text alone")
    args = p.parse_args()
    files = sorted(Path(args.data).glob("*.jsonl"))
    if not files:
        raise SystemExit(f"no *.jsonl files in {args.data}")
    print("| format | lines | statements | grouping accuracy | s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    total = []
    for f in files:
        acc, n, k, secs = score_file(f, args.masks_only)
        total.append(acc)
        print(f"| {f.stem} | {n:,} | {k} | {acc:.3f} | {secs:.1f} |")
    print(f"| **mean** | | | **{sum(total) / len(total):.3f}** | |")


if __name__ == "__main__":
    main()
