"""Split the hour's models into shards: one mapped task instance (detect, train) each.

Why shards and not one task per model: each task instance costs a process start, a scheduler
round trip and a metadata row, so a fleet of 10,000 models must not become 10,000 instances.
Why not one shard: one worker holds a shard's models (their rows, their detectors and, on a
day's first hour or in the daily training, their week of history), so a shard's size bounds
that worker's memory. The shards are as few as hold at most `max_models` each, balanced, so
their size follows the fleet (100 models: one shard of 100; 1,100 at 500: three of 366-367)
and no fleet makes one larger than the bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def shard_count(n_models: int, shard_size: int | None, max_models: int) -> int:
    """How many shards for `n_models`: of a fixed `shard_size` if configured, else as few as
    hold at most `max_models` each (never zero when there are models)."""
    if n_models <= 0:
        return 0
    return math.ceil(n_models / (shard_size if shard_size is not None else max_models))


def split_models(models: Sequence[str], shard_size: int | None, max_models: int) -> list[list[str]]:
    """Sorted models in contiguous, balanced shards (sizes differ by at most one, except a
    configured `shard_size`, whose last shard takes the remainder).

    Contiguous ranges of sorted ids make each shard's grid label ("model-000 .. model-249")
    say what it holds, and the same models always land in the same shard for a given fleet.
    """
    ordered = sorted(models)
    if shard_size is not None:
        return [ordered[i : i + shard_size] for i in range(0, len(ordered), shard_size)]
    k = shard_count(len(ordered), None, max_models)
    if k == 0:
        return []
    base, extra = divmod(len(ordered), k)
    shards, start = [], 0
    for i in range(k):
        end = start + base + (1 if i < extra else 0)
        shards.append(ordered[start:end])
        start = end
    return shards
