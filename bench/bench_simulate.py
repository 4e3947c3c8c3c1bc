"""Time the fleet simulator at production scale (default: 1,000 models x 14 days = 20.16 M rows).

Why: the demo and the load tests regenerate the fleet on the fly, so generation must stay well
under a minute on a 2-core worker and fit in memory. Prints one line: models, days, rows,
seconds, rows/s and peak RSS.

    python bench/bench_simulate.py [--models 1000] [--days 14]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def main(argv: list[str] | None = None) -> None:
    """Parse the fleet size, simulate once and print the timing line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from modelwatch.sim.fleet import FleetSpec, simulate_fleet

    spec = FleetSpec(n_models=args.models, days=args.days, seed=args.seed)
    start = time.perf_counter()
    fleet = simulate_fleet(spec)
    seconds = time.perf_counter() - start
    rows = len(fleet.metrics)
    print(
        f"models={args.models} days={args.days} rows={rows:,} seconds={seconds:.2f} "
        f"rows/s={rows / seconds:,.0f} peak_rss_mb={peak_rss_mb():,.0f}"
    )


if __name__ == "__main__":
    main()
