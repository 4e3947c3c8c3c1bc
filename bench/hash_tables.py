"""Fingerprint every `mw_*` table of a warehouse, so two checkouts' demo runs can be compared.

Why: a refactor that must not change behaviour is checked by running `make demo` on both
checkouts and comparing these hashes. Rows are ordered by all their columns; the columns that
come from the wall clock (`created_at`, `recorded_at`, send times, run ids) and the migrations'
bookkeeping table are left out, because they differ between any two runs. Prints one line per
table: rows and hash. `--inputs` adds the input tables (`model_metrics`, `incidents`, ...), to
check that a change of the simulator or of seeding loads the same rows.

    python bench/hash_tables.py --warehouse duckdb:///.data/warehouse.duckdb [--inputs]
"""

from __future__ import annotations

import argparse
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: Columns whose values come from the wall clock (write and send times, and run ids, which
#: Airflow derives from the time a run was triggered), not from the results.
WALL_CLOCK = ("created_at", "recorded_at", "attempted_at", "last_attempt_at", "run_id")
#: Tables that record the schema's own history, not results.
SKIPPED = ("mw_schema_migrations",)


def _text(value: object) -> str:
    """One cell as text; every kind of missing value (None, NaN, NaT, NA) reads the same."""
    import pandas as pd

    return "None" if pd.api.types.is_scalar(value) and pd.isna(value) else str(value)


def table_hash(frame: pd.DataFrame) -> str:
    """A digest of the frame's rows, ordered by every column, values as text."""
    cols = sorted(c for c in frame.columns if c not in WALL_CLOCK)
    text = frame[cols].astype(object).map(_text)
    ordered = text.sort_values(cols, kind="mergesort").reset_index(drop=True) if cols else text
    digest = hashlib.sha256("\t".join(cols).encode())
    for row in ordered.itertuples(index=False):
        digest.update(("\x1f".join(row) + "\n").encode())
    return digest.hexdigest()[:16]


def table_hashes(uri: str, inputs: bool = False) -> dict[str, tuple[int, str]]:
    """Table name -> (rows, hash) for every `mw_*` table of the warehouse at `uri` (and every
    other table with `inputs`)."""
    from modelwatch.warehouse import open_warehouse, spec_from_uri

    out: dict[str, tuple[int, str]] = {}
    with open_warehouse(spec_from_uri(uri)) as wh:
        home = str(wh.query("SELECT current_schema() AS s")["s"].iloc[0])
        for table in sorted(wh.schema_tables(home)):
            if not (inputs or table.startswith("mw_")) or table in SKIPPED:
                continue
            frame = wh.query(f'SELECT * FROM "{table}"')
            out[table] = (len(frame), table_hash(frame))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--warehouse",
        default="duckdb:///.data/warehouse.duckdb",
        help="warehouse URI (default: the demo's DuckDB file)",
    )
    parser.add_argument(
        "--inputs", action="store_true", help="the input tables too, not only the mw_* ones"
    )
    args = parser.parse_args(argv)
    for table, (rows, digest) in table_hashes(args.warehouse, args.inputs).items():
        print(f"{table:32} {rows:>8} {digest}")


if __name__ == "__main__":
    main()
