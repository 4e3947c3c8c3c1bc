"""What the modules running model_health through `dag.test()` share: the worker's Airflow
metadata database, migrated in this process, and a run with the demo's shortcuts.

Both are the demo's way (`modelwatch.airflow.dagtest`): `airflow db migrate` in a subprocess
imports Airflow again for seconds per module, and `dag.test()`'s loop sleeps a second each time
a skip travels one link down the approval chain, in a run nothing else touches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """This worker's metadata database (its AIRFLOW_HOME is the tests'), migrated once."""
    from modelwatch.airflow.dagtest import prepare_home

    prepare_home("modelwatch_warehouse", 1)


def dag_test(dag: Any, logical_date: datetime, conf: dict | None = None) -> Any:
    """`dag.test()` at `logical_date` (the end of the run's data interval) with the demo's
    shortcuts (idle polls cut, library results kept); the DagRun."""
    from modelwatch.airflow.dagtest import in_process_shortcuts

    when = logical_date if logical_date.tzinfo else logical_date.replace(tzinfo=UTC)
    with in_process_shortcuts():
        return dag.test(logical_date=when, run_conf=conf or {})
