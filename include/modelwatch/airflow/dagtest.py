"""Running `model_health` in this process with Airflow's `dag.test()`: the demo's way and the
profile benchmark's.

Why not `airflow db migrate` and `airflow pools set`: each is a fresh interpreter that imports
Airflow again (about 3 s apiece on 2 cores) to do what two calls do here, where Airflow is
imported anyway.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any


def prepare_home(pool: str, slots: int) -> str:
    """Migrate the metadata database of this process's AIRFLOW_HOME (created on first use) and
    create the warehouse pool unless it exists; what was done to the pool, as one line."""
    from airflow.utils import db
    from airflow.utils.providers_configuration_loader import providers_configuration_loaded

    providers_configuration_loaded(db.upgradedb)()
    from modelwatch.airflow.pool import ensure_in_metadata

    return ensure_in_metadata(pool, slots)


def load_dag(dag_id: str = "model_health") -> Any:
    """The DAG from the DAGs folder of AIRFLOW__CORE__DAGS_FOLDER; import errors raise."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.get_dag(dag_id)


def run_hour(dag: Any, hour: datetime, conf: dict[str, Any]) -> str:
    """Run `dag` for `hour` (naive UTC, its start) with `dag.test()`; the run's final state."""
    run = dag.test(logical_date=(hour + timedelta(hours=1)).replace(tzinfo=UTC), run_conf=conf)
    return str(getattr(run, "state", "unknown"))
