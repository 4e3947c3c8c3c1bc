"""bench/hash_tables.py: a warehouse's `mw_*` tables fingerprinted, wall-clock columns and row
order left out."""

from __future__ import annotations

import pandas as pd

from tests.conftest import make_warehouse
from tests.unit.bench.scripts import load


def test_the_hash_ignores_row_order_and_wall_clock_columns() -> None:
    bench = load("hash_tables")
    rows = pd.DataFrame({"model_id": ["a", "b"], "score": [0.5, None], "created_at": [1, 2]})
    same = rows.iloc[::-1].assign(created_at=[7, 8])
    assert bench.table_hash(rows) == bench.table_hash(same)
    assert bench.table_hash(rows) != bench.table_hash(rows.assign(score=[0.5, 0.6]))


def test_it_prints_every_mw_table_of_a_warehouse(tmp_path, capsys) -> None:
    uri = f"duckdb:///{tmp_path}/w.duckdb"
    make_warehouse(uri)  # migrated, every mw_* table empty
    load("hash_tables").main(["--warehouse", uri])
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    names = [name for name, _, _ in lines]
    assert "mw_scores" in names and "mw_alerts" in names
    assert all(n.startswith("mw_") for n in names) and "mw_schema_migrations" not in names
    assert {rows for _, rows, _ in lines} == {"0"}


def test_inputs_adds_the_input_tables(tmp_path, capsys) -> None:
    from modelwatch.sim.fleet import FleetSpec, simulate_fleet

    uri = f"duckdb:///{tmp_path}/w.duckdb"
    make_warehouse(uri, simulate_fleet(FleetSpec(n_models=2, days=1)))
    load("hash_tables").main(["--warehouse", uri, "--inputs"])
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert rows["model_metrics"] == "2880" and rows["models"] == "2" and "mw_scores" in rows
