"""Write the labelled log corpus: one JSON-lines file per format, 2,000 lines each.

    python bench/logs/make_corpus.py [--lines 2000] [--out bench/logs/data]

Each line is {"ts", "model_id", "level", "message", "statement"}: `statement` is the name of
the invented logging statement that wrote the line, so a miner's grouping can be scored
against it (`bench/bench_log_accuracy.py`). Seeded: the same command writes the same files.
Statements are drawn with skewed weights and their variables from skewed pools (a few values
common, many rare), as in real logs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from formats_host import DATABASE, JVM, MOBILE, SYSLOG, WINDOWS  # noqa: E402
from formats_net import CLOUD, PROXY, WEB  # noqa: E402
from pools import Pools  # noqa: E402

FORMATS = {
    "web": WEB,
    "syslog": SYSLOG,
    "jvm": JVM,
    "cloud": CLOUD,
    "proxy": PROXY,
    "windows": WINDOWS,
    "mobile": MOBILE,
    "database": DATABASE,
}
START = datetime(2026, 11, 1)


def generate(name: str, n: int, seed: int = 0) -> list[dict[str, str]]:
    statements = FORMATS[name]
    p = Pools(seed * 1000 + sorted(FORMATS).index(name))
    weights = [w for _, w, _, _ in statements]
    rows = []
    for i in range(n):
        label, _, level, make = p.g.choices(statements, weights)[0]
        ts = START + timedelta(seconds=i * 86400 / n)
        rows.append(
            {
                "ts": ts.isoformat() + "Z",
                "model_id": name,
                "level": level,
                "message": make(p),
                "statement": label,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--out", default=str(HERE / "data"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in FORMATS:
        rows = generate(name, args.lines)
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
        print(f"{name:9} {len(rows):,} lines, {len({r['statement'] for r in rows})} statements")


if __name__ == "__main__":
    main()
