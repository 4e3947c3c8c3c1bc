"""What a fleet that reports fewer metrics goes without: one info line each, once per run.

A rule or stage that needs a built-in metric the fleet does not list (`source.metrics`) is
skipped for that fleet, never a traceback: each of them already does nothing without its
metrics; these lines say so, where the run starts, so nobody wonders why it never fires.
"""

from __future__ import annotations

from modelwatch.config import Settings

#: What needs which built-in metrics, and what a fleet without them does instead.
NEEDS: tuple[tuple[str, frozenset[str], str], ...] = (
    (
        "quiet minutes",
        frozenset({"request_rate"}),
        "without request_rate no minute is known to be without traffic: the latencies and "
        "error rate the fleet reports must be there in every row",
    ),
    (
        "scaling (scale_up, scale_down)",
        frozenset({"request_rate", "cpu_util", "replicas", "latency_p50_ms", "latency_p99_ms"}),
        "skipped",
    ),
    (
        "latency inhibition",
        frozenset({"latency_p50_ms", "latency_p95_ms", "latency_p99_ms"}),
        "holds nothing back",
    ),
    ("restart on a memory leak", frozenset({"memory_util"}), "skipped"),
    ("drift by the prediction mean", frozenset({"prediction_mean"}), "skipped"),
)


def fleet_notes(settings: Settings) -> list[str]:
    """One line per rule the fleet's metric set turns off (none for the full set)."""
    absent = set(settings.source.absent)
    if not absent:
        return []
    out = [f"source.metrics leaves out {', '.join(sorted(absent))}: not required, not watched"]
    for what, needs, instead in NEEDS:
        missing = needs & absent
        if missing and (what != "latency inhibition" or missing == needs):
            out.append(f"{what} needs {', '.join(sorted(missing))}: {instead}")
    return out
