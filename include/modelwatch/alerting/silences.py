"""Silences and maintenance windows: alerts that are recorded but deliberately not sent.

A silence is an operator's decision ("model-003 is being retrained until 18:00, by alice"), so
it is stored in the warehouse with who and why (`silence_table.py`), and it expires on its own;
`modelwatch silence add/list/expire` (`modelwatch.cli.silence`) manages it. A maintenance window
is a standing arrangement (every Sunday 02:00-04:00 for team ads), so it lives in the config.
Both match alerts by labels.

An alert event is silenced when its hour [h, h+1) overlaps the silence. Judging by the data
hour, not the wall clock, keeps reruns of an hour deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from modelwatch.config import ALERT_LABELS, MaintenanceWindow
from modelwatch.run import HOUR

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SILENCE_COLUMNS = [
    "silence_id",
    "matchers",
    "starts_at",
    "ends_at",
    "created_by",
    "comment",
    "created_at",
    "expired_by",
]
_DURATION = re.compile(r"^(\d+)([mhd])$")


def matches(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Every matcher equals the label (an empty matcher set matches everything)."""
    return all(labels.get(k) == v for k, v in matchers.items())


@dataclass(frozen=True)
class Silence:
    silence_id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def covers(self, hour: datetime, labels: Mapping[str, str]) -> bool:
        return (
            self.starts_at < hour + HOUR and hour < self.ends_at and matches(self.matchers, labels)
        )


def window_covers(w: MaintenanceWindow, hour: datetime) -> bool:
    """Whether the hour starts inside one of the window's weekly occurrences (UTC)."""
    start_h = int(w.start[:2])
    # An occurrence may have started up to `duration_hours` ago, possibly on an earlier day.
    for back in range(w.duration_hours):
        h = hour - timedelta(hours=back)
        if h.hour == start_h and (not w.weekdays or WEEKDAYS[h.weekday()] in w.weekdays):
            return True
    return False


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"duration {text!r} must look like 30m, 4h or 2d")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(minutes=n) if unit == "m" else timedelta(hours=n if unit == "h" else 24 * n)


def parse_matchers(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value or key not in ALERT_LABELS:
            raise ValueError(
                f"matcher {item!r} must be label=value with a label of {', '.join(ALERT_LABELS)}"
            )
        out[key] = value
    if not out:
        raise ValueError("a silence needs at least one matcher (e.g. model_id=model-003)")
    return out
