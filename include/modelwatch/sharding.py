"""Split the hour's models into detect shards: one mapped task instance per shard.

Why shards and not one task per model: each task instance costs a process start, a scheduler
round trip and a metadata row, so a fleet of 5,000 models must not become 5,000 instances.
The shard count grows with the fleet until `max_shards`, then the shards grow instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def shard_count(n_models: int, shard_size: int | None, target_size: int, max_shards: int) -> int:
    """How many shards for `n_models`: a fixed `shard_size` if configured, else about
    `target_size` models each, at most `max_shards` (never zero when there are models)."""
    if n_models <= 0:
        return 0
    if shard_size is not None:
        return math.ceil(n_models / shard_size)
    return max(1, min(max_shards, math.ceil(n_models / target_size)))


def split_models(
    models: Sequence[str], shard_size: int | None, target_size: int, max_shards: int
) -> list[list[str]]:
    """Sorted models in contiguous, balanced shards (sizes differ by at most one, except a
    configured `shard_size`, whose last shard takes the remainder).

    Contiguous ranges of sorted ids make each shard's grid label ("model-000 .. model-249")
    say what it holds, and the same models always land in the same shard for a given fleet.
    """
    ordered = sorted(models)
    if shard_size is not None:
        return [ordered[i : i + shard_size] for i in range(0, len(ordered), shard_size)]
    k = shard_count(len(ordered), None, target_size, max_shards)
    if k == 0:
        return []
    base, extra = divmod(len(ordered), k)
    shards, start = [], 0
    for i in range(k):
        end = start + base + (1 if i < extra else 0)
        shards.append(ordered[start:end])
        start = end
    return shards
