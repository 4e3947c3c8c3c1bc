"""A fleet simulated and seeded a chunk of models at a time makes exactly the rows of the whole
fleet made at once (the demo, the tests and the benchmarks' figures assume a spec gives the
same rows however it is made), and the stream's tables say when they are not complete yet."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from modelwatch.sim.fleet import FleetSpec, FleetStream, simulate_fleet
from modelwatch.sim.life import LifeEvent
from modelwatch.sim.seed import seed
from modelwatch.warehouse import open_warehouse, spec_from_uri

AT = datetime(2026, 11, 1, 5)
#: 70 models: three chunks of 32, the last one short; every incident kind, life events in
#: several chunks (a custom metric on one model only) and predictions.
SPEC = FleetSpec(
    n_models=70,
    days=2,
    extra_incident_share=0.3,
    predictions=4,
    labels=True,
    events=(
        LifeEvent("retire", 3, AT),
        LifeEvent("low_traffic", 40, AT, 0.5),
        LifeEvent("extra_metric", 65, AT, 1.5),
        LifeEvent("deploy_shift", 33, AT, 1.4),
    ),
)


@pytest.fixture(scope="module")
def whole():
    return simulate_fleet(SPEC)


def test_chunks_concatenate_to_the_whole_fleet(whole) -> None:
    stream = FleetStream(SPEC, chunk_models=32)
    chunks = list(stream.metric_chunks())
    assert len(chunks) == 3
    first = [c["model_id"].dropna().iloc[0] for c in chunks]
    assert first == ["model-000", "model-032", "model-064"]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole.metrics)
    pd.testing.assert_frame_equal(stream.incidents, whole.incidents)
    pd.testing.assert_frame_equal(stream.models, whole.models)
    pd.testing.assert_frame_equal(stream.predictions, whole.predictions)


def test_a_chunk_size_off_the_block_is_rounded_up_to_it(whole) -> None:
    chunks = list(FleetStream(SPEC, chunk_models=40).metric_chunks())  # -> 64 models a chunk
    assert [c["model_id"].nunique() for c in chunks] == [64, 6]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole.metrics)


def test_the_incidents_wait_for_every_chunk_and_a_stream_runs_once() -> None:
    stream = FleetStream(FleetSpec(n_models=40, days=1), chunk_models=32)
    chunks = stream.metric_chunks()
    next(chunks)
    with pytest.raises(RuntimeError, match="every metric chunk"):
        _ = stream.incidents
    list(chunks)
    assert len(stream.incidents) >= 7
    with pytest.raises(RuntimeError, match="made once"):
        next(stream.metric_chunks())


def test_seeding_a_stream_loads_the_rows_of_the_whole_fleet(tmp_path, whole) -> None:
    def loaded(name: str, fleet) -> dict[str, pd.DataFrame]:
        spec = spec_from_uri(f"duckdb:///{tmp_path}/{name}.duckdb")
        with open_warehouse(spec, migrate=True) as wh:
            assert seed(wh, fleet) == len(whole.metrics)
            return {
                t: wh.query(f"SELECT * FROM {t} ORDER BY ALL")
                for t in ("model_metrics", "incidents", "models", "model_predictions")
            }

    streamed = loaded("streamed", FleetStream(SPEC, chunk_models=32))
    for table, frame in loaded("whole", whole).items():
        pd.testing.assert_frame_equal(streamed[table], frame, obj=table)
    assert "gpu_util" in streamed["model_metrics"].columns


def test_an_interrupted_seed_leaves_the_warehouse_unseeded_and_seeds_again(tmp_path) -> None:
    from modelwatch.sim.seed import is_seeded

    spec = FleetSpec(n_models=40, days=1)

    class Interrupted(FleetStream):
        def metric_chunks(self):
            chunks = super().metric_chunks()
            yield next(chunks)  # one chunk committed, then the process dies
            raise KeyboardInterrupt

    rows = len(simulate_fleet(spec).metrics)
    uri = spec_from_uri(f"duckdb:///{tmp_path}/w.duckdb")
    with open_warehouse(uri, migrate=True) as wh:
        with pytest.raises(KeyboardInterrupt):
            seed(wh, Interrupted(spec, chunk_models=32))
        assert not is_seeded(wh) and wh.table_exists("model_metrics_loading")
        assert seed(wh, FleetStream(spec, chunk_models=32)) == rows
        assert is_seeded(wh) and not wh.table_exists("model_metrics_loading")
        got = wh.query("SELECT COUNT(*) AS n, COUNT(DISTINCT model_id) AS m FROM model_metrics")
    assert (int(got["n"].iloc[0]), int(got["m"].iloc[0])) == (rows, 40)
