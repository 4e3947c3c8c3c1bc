"""The strict base every settings section derives from, and the identifier rule they share.

Strict because a config file is written by hand: an unknown key (a typo) must fail at load time,
not be ignored, and settings must not change once loaded (they are fingerprinted per run).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

#: A plain `[schema.]name` SQL identifier: table and column names are interpolated into queries,
#: so anything else is refused.
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?\Z")


class StrictModel(BaseModel):
    """Unknown keys are errors; instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
