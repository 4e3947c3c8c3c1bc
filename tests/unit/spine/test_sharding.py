"""Shards: as few as hold at most `max_models` each, so their size follows the fleet and the
number of mapped task instances grows with shards, not models."""

from __future__ import annotations

import pytest

from modelwatch.sharding import shard_count, split_models


def ids(n: int) -> list[str]:
    return [f"m{i:05d}" for i in range(n)]


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, 0), (1, 1), (100, 1), (500, 1), (501, 2), (1000, 2), (5000, 10), (10_000, 20)],
)
def test_shard_count_follows_the_fleet(n, expected):
    assert shard_count(n, None, max_models=500) == expected


@pytest.mark.parametrize("n", [1, 499, 500, 501, 1_100, 9_999, 10_000, 50_001])
def test_no_fleet_makes_a_shard_larger_than_the_bound(n):
    shards = split_models(ids(n), None, max_models=500)
    assert max(len(s) for s in shards) <= 500
    assert len(shards) == -(-n // 500)  # no more shards than the bound needs


def test_the_shard_size_follows_the_fleet():
    sizes = {n: {len(s) for s in split_models(ids(n), None, 500)} for n in (100, 1_100, 10_000)}
    assert sizes == {100: {100}, 1_100: {366, 367}, 10_000: {500}}


def test_shards_are_balanced_contiguous_and_cover_every_model_once():
    models = ids(998)[::-1]  # any order in, sorted ranges out
    shards = split_models(models, None, max_models=250)
    assert [len(s) for s in shards] == [250, 250, 249, 249]
    flat = [m for s in shards for m in s]
    assert flat == sorted(models)


def test_a_configured_shard_size_wins():
    shards = split_models(ids(10), 4, max_models=500)
    assert [len(s) for s in shards] == [4, 4, 2]
    assert shard_count(10, 4, max_models=1) == 3


def test_no_models_no_shards():
    assert split_models([], None, max_models=500) == []
