"""`modelwatch seed`: a simulated fleet loaded once, a chunk of models at a time, with the rows
the simulator makes for the same spec."""

from __future__ import annotations

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
