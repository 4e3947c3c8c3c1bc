"""Running `model_health` in this process with Airflow's `dag.test()`: the demo's way and the
profile benchmark's.

Why not `airflow db migrate` and `airflow pools set`: each is a fresh interpreter that imports
Airflow again (about 3 s apiece on 2 cores) to do what two calls do here, where Airflow is
imported anyway. Why the idle polls are cut: `dag.test()` walks the run in a loop that sleeps
1 s whenever no task is ready but some are undecided. In a run no other process touches (no
triggerer, no operator answering, as in the demo) that only happens while a skip travels down
a chain (route -> remediate -> needs_approval -> approve -> record_approval -> dispatch), one
link per pass of the loop: the next pass decides it, the second of waiting buys nothing. With
`idle_polls_cut()`, those sleeps of the loop itself take 10 ms; every other sleep is untouched.
Why schemas are checked once: Airflow resolves the DAG's params through `jsonschema.validate`
whenever it serialises or compares an operator, dozens of times per task, and each call first
checks the param's schema against JSON Schema's metaschema: 0.26 ms of a 0.27 ms call, about
3 s of the demo's 24 hours. With `schema_checks_once()`, a schema that passed that check is not
checked again; every value is still validated against its schema.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import CodeType
from typing import Any

#: How long a cut idle poll of `dag.test()` still waits.
IDLE_POLL_S = 0.01


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


@contextlib.contextmanager
def idle_polls_cut(loop: CodeType | None = None) -> Iterator[list[float]]:
    """While inside: the sleeps `dag.test()` itself makes between passes (or the function
    whose code is `loop`) take `IDLE_POLL_S`; sleeps anywhere else (tasks, retries, Airflow)
    keep their length. Yields the list of the waits cut, as asked."""
    import inspect
    import sys

    if loop is None:
        from airflow.sdk.definitions.dag import DAG

        loop = inspect.unwrap(DAG.test).__code__  # the loop's own frame, even when wrapped
    real, cut = time.sleep, []

    def sleep(seconds: float) -> None:
        if sys._getframe(1).f_code is loop:
            cut.append(seconds)
            seconds = min(seconds, IDLE_POLL_S)
        real(seconds)

    time.sleep = sleep
    try:
        yield cut
    finally:
        time.sleep = real


@contextlib.contextmanager
def schema_checks_once() -> Iterator[set[tuple[type, str]]]:
    """While inside: `jsonschema.validate` checks a schema against its metaschema only the first
    time it meets it (the same schema, the same validator class); the value is validated at
    every call, as before. Yields the set of (validator class, schema) already checked."""
    import jsonschema
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    real, checked = jsonschema.validate, set()

    def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
        cls = cls or validator_for(schema)
        try:
            key = (cls, json.dumps(schema, sort_keys=True))
        except (TypeError, ValueError):  # not JSON: nothing to remember it by
            return real(instance, schema, cls, *args, **kwargs)
        if key not in checked:
            real(instance, schema, cls, *args, **kwargs)  # the schema checked, then the value
            checked.add(key)
            return None
        error = best_match(cls(schema, *args, **kwargs).iter_errors(instance))
        if error is not None:
            raise error
        return None

    jsonschema.validate = validate
    try:
        yield checked
    finally:
        jsonschema.validate = real


def run_hour(dag: Any, hour: datetime, conf: dict[str, Any]) -> str:
    """Run `dag` for `hour` (naive UTC, its start) with `dag.test()`; the run's final state."""
    with idle_polls_cut(), schema_checks_once():
        run = dag.test(logical_date=(hour + timedelta(hours=1)).replace(tzinfo=UTC), run_conf=conf)
    return str(getattr(run, "state", "unknown"))
