"""Detect shards: the number of mapped task instances grows with shards, not models."""

from __future__ import annotations

import pytest

from modelwatch.sharding import shard_count, split_models


def ids(n: int) -> list[str]:
    return [f"m{i:05d}" for i in range(n)]


@pytest.mark.parametrize(
    ("n", "expected"), [(0, 0), (1, 1), (100, 1), (250, 1), (251, 2), (1000, 4), (5000, 20)]
)
def test_shard_count_follows_the_fleet(n, expected):
    assert shard_count(n, None, target_size=250, max_shards=32) == expected


def test_past_max_shards_the_shards_grow_instead():
    shards = split_models(ids(50_000), None, target_size=250, max_shards=32)
    assert len(shards) == 32
    assert {len(s) for s in shards} == {1562, 1563}


def test_auto_shards_are_balanced_contiguous_and_cover_every_model_once():
    models = ids(998)[::-1]  # any order in, sorted ranges out
    shards = split_models(models, None, target_size=250, max_shards=32)
    assert [len(s) for s in shards] == [250, 250, 249, 249]
    flat = [m for s in shards for m in s]
    assert flat == sorted(models)


def test_a_configured_shard_size_wins():
    shards = split_models(ids(10), 4, target_size=250, max_shards=32)
    assert [len(s) for s in shards] == [4, 4, 2]
    assert shard_count(10, 4, target_size=250, max_shards=1) == 3


def test_no_models_no_shards():
    assert split_models([], None, target_size=250, max_shards=32) == []
