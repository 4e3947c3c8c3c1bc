"""Checks across sections, applied wherever settings are loaded (the DAG's tasks, every CLI
command): a name that points at nothing fails the load, before any table is touched.

A receiver typo (`receivers: [log, slack_ads]` without a channel `slack_ads`) would otherwise
pass loading and then fail every delivery quietly, run after run. So every receiver named in
`alerts.receivers` and in each route must be a channel of `alerts.channels` or the built-in
`log`. Route and maintenance matchers are checked per field (`alerts.check_matchers`), and an
override's label matchers against the labels table (`overrides.check_label_source`).
Whether a channel's connection exists is not checked here (that needs Airflow's connections
and is `modelwatch check`'s job); an `optional` channel without one is skipped at send time.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from modelwatch.config.errors import Loc

if TYPE_CHECKING:
    from modelwatch.config.alerts import AlertsConfig

#: The receiver that always exists: the task log.
BUILTIN_RECEIVERS = ("log",)


def receiver_names(alerts: AlertsConfig) -> list[str]:
    """Every name a receiver may have: the configured channels and the built-ins."""
    return sorted({*alerts.channels, *BUILTIN_RECEIVERS})


def unknown_receiver(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"receiver {name!r} is not a channel of alerts.channels nor a built-in{hint}; "
        f"known: {', '.join(known)}"
    )


def cross_check(alerts: AlertsConfig) -> list[tuple[Loc, str]]:
    """(key path, problem) for every receiver name that names nothing."""
    known = receiver_names(alerts)
    out: list[tuple[Loc, str]] = []
    for i, name in enumerate(alerts.receivers):
        if name not in known:
            out.append((("alerts", "receivers", i), unknown_receiver(name, known)))
    for r, route in enumerate(alerts.routes):
        for i, name in enumerate(route.receivers):
            if name not in known:
                loc: Loc = ("alerts", "routes", r, "receivers", i)
                out.append((loc, unknown_receiver(name, known)))
    return out
