"""The simulator's rows are pinned: the demo, the tests' expectations and the benchmarks' figures
all assume a spec and seed give exactly the rows they gave before (a refactor of the simulator
must not move a single value). If a change of the physics is intended, re-pin these with it.

Floats are hashed rounded to 6 decimals: numpy's vectorised maths may differ in the last bit
between CPUs (this test failed on a new machine with the same pinned libraries), and that is
not a change of the simulator."""

from __future__ import annotations

import pandas as pd

from modelwatch.sim.fleet import FleetSpec, simulate_fleet

#: (rows, sum of pd.util.hash_pandas_object, floats rounded to 6 decimals) per frame of
#: FleetSpec(n_models=10, days=9).
PINNED = {
    "metrics": (129486, 15380479588398542986),
    "incidents": (7, 5303470774582216747),
    "models": (10, 14783441057765769385),
}


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(6) for c in floats})


def test_the_test_fleet_keeps_exactly_the_same_rows() -> None:
    fleet = simulate_fleet(FleetSpec(n_models=10, days=9))
    got = {
        name: (len(frame), int(pd.util.hash_pandas_object(rounded(frame)).sum()))
        for name, frame in (
            ("metrics", fleet.metrics),
            ("incidents", fleet.incidents),
            ("models", fleet.models),
        )
    }
    assert got == PINNED
