"""The pure parts of the Prometheus source: windows as evaluation steps, chunks within
Prometheus's per-series limit, model ids as PromQL literals, retention strings."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest

from modelwatch.ingest.prometheus import retention
from modelwatch.ingest.promql import MAX_POINTS, chunks, literal, matrix_frame, only_models, steps
from modelwatch.ingest.source import SourceError

H = datetime(2026, 11, 1, 9)


def test_a_window_is_its_own_steps_and_no_more() -> None:
    """[H, H+1h) at five minutes: H .. H+55m, never the next hour's first step."""
    assert steps(H, H + timedelta(hours=1), 300) == (H, H + timedelta(minutes=55))
    assert steps(H + timedelta(minutes=1), H + timedelta(minutes=4), 300) is None
    assert steps(H + timedelta(seconds=10), H + timedelta(minutes=2), 60) == (
        H + timedelta(minutes=1),
        H + timedelta(minutes=1),
    )


@pytest.mark.parametrize("step", [15, 30, 60, 300])
def test_chunks_cover_every_step_once_within_the_limit(step: int) -> None:
    start, end = H - timedelta(days=7), H
    parts = chunks(start, end, step)
    counts = [int((last - first).total_seconds() // step) + 1 for first, last in parts]
    assert all(n <= MAX_POINTS for n in counts)
    assert sum(counts) == int((end - start).total_seconds() // step)
    for (_, last), (first, _) in itertools.pairwise(parts):
        assert first - last == timedelta(seconds=step)


def test_model_ids_are_promql_literals_never_promql() -> None:
    odd = ['a"} or vector(1) #', "x\\y", "模型\n"]
    query = only_models("up", "model", odd)
    for m in odd:
        assert literal(m) in query
        assert json.loads(literal(m)) == m
    assert query.startswith("(up) and on (model) (")


def test_one_series_per_model_or_an_error_naming_it() -> None:
    series = [
        {"metric": {"model": "a"}, "values": [[1_700_000_000, "1.5"]]},
        {"metric": {"model": "a", "pod": "p2"}, "values": [[1_700_000_000, "2"]]},
    ]
    with pytest.raises(SourceError, match="several series for model 'a'"):
        matrix_frame(series, "model", "cpu_util", "source.queries.cpu_util")
    got = matrix_frame([series[0], {"metric": {"model": "b"}, "values": []}], "model", "x", "q")
    assert got["model_id"].tolist() == ["a"] and got["x"].tolist() == [1.5]


@pytest.mark.parametrize(
    "text,want",
    [
        ("15d", timedelta(days=15)),
        ("100y", timedelta(days=36500)),
        ("1h30m", timedelta(minutes=90)),
        ("30d or 10GiB", timedelta(days=30)),
        ("10GiB", None),
        ("", None),
    ],
)
def test_retention_reads_the_time_part(text: str, want: timedelta | None) -> None:
    assert retention(text) == want
