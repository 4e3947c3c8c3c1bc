"""The `fleet_life` section: how detection lives with a real fleet's ordinary changes.

A lasting level change becomes the model's new baseline after it has held for a while (or at
once when an operator accepts it); a model that stops reporting while the fleet reports is
retired. See docs/detection.md#baselines and docs/data.md#model-lifecycle.
"""

from __future__ import annotations

from pydantic import Field

from modelwatch.config.base import StrictModel


class FleetLifeConfig(StrictModel):
    """New normal and retirement."""

    new_normal_hours: int = Field(
        6,
        ge=2,
        description="A level change that held this many hours (wall time, from the first "
        "anomalous hour of the run of anomalous hours) becomes the model's new baseline. At "
        "least 2: the anomaly alert (2 of 3 hours) must have paged first.",
    )
    deploy_new_normal_hours: int = Field(
        4,
        ge=2,
        description="The same after a deploy (a `model_version` change within an hour of the "
        "change's onset); never shorter than it takes to page.",
    )
    max_level_drift: float = Field(
        0.35,
        gt=0.0,
        le=1.0,
        description='A level "held" when the moved metric\'s deviation (robust z) in the '
        "second half of the persistence window differs from the first half by at most this "
        "share of its size; a ramp (a memory leak) never held and keeps paging.",
    )
    retire_after_hours: int = Field(
        24,
        ge=1,
        description="A model without rows for this many hours in which the rest of the fleet "
        "reported is retired: one notice, its alerts resolved, no more pages. Rows arriving "
        "bring it back.",
    )
