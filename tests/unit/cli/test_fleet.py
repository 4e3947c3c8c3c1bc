"""`modelwatch simulate` and `modelwatch seed`: a simulated fleet written to files or loaded once,
a chunk of models at a time, with the rows the simulator makes for the same spec."""

from __future__ import annotations

import pandas as pd
import pytest

from modelwatch.cli.main import build_parser
from modelwatch.sim.fleet import FleetSpec, simulate_fleet
from modelwatch.warehouse import open_warehouse, spec_from_uri


def test_seed_loads_the_simulated_fleet_once(tmp_path, capsys) -> None:
    uri = f"duckdb:///{tmp_path}/w.duckdb"
    args = build_parser().parse_args(
        ["seed", "--models", "150", "--days", "1", "--seed", "3", "--warehouse", uri]
    )  # 150 models: more than one chunk
    assert args.func(args) == 0 and args.func(args) == 0
    out = capsys.readouterr().out
    assert "already seeded" in out.splitlines()[-1]
    expected = simulate_fleet(FleetSpec(n_models=150, days=1, seed=3))
    with open_warehouse(spec_from_uri(uri)) as wh:
        got = wh.query("SELECT model_id, ts, latency_p99_ms FROM model_metrics ORDER BY ALL")
        incidents = wh.query("SELECT COUNT(*) AS n FROM incidents")["n"].iloc[0]
    want = expected.metrics[["model_id", "ts", "latency_p99_ms"]]
    want = want.sort_values(["model_id", "ts", "latency_p99_ms"], na_position="last")
    assert len(got) == len(want) and incidents == len(expected.incidents)
    assert got["latency_p99_ms"].tolist() == want["latency_p99_ms"].tolist()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_simulate_writes_the_fleet_to_a_file_a_chunk_at_a_time(tmp_path, capsys, suffix) -> None:
    out = tmp_path / f"fleet{suffix}"
    args = build_parser().parse_args(
        ["simulate", "--models", "150", "--days", "1", "--out", str(out)]
    )
    assert args.func(args) == 0
    expected = simulate_fleet(FleetSpec(n_models=150, days=1))
    read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
    got = read(out)
    assert len(got) == len(expected.metrics) and got["model_id"].nunique() == 150
    assert (
        got["latency_p99_ms"].round(9).tolist()
        == expected.metrics["latency_p99_ms"].round(9).tolist()
    )
    assert len(read(tmp_path / f"fleet_incidents{suffix}")) == len(expected.incidents)
    assert f"wrote {len(expected.metrics):,} rows" in capsys.readouterr().out
