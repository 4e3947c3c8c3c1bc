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

The other shortcuts are of the same kind: a library rebuilding, on every call, something that
depends only on its arguments. FastAPI rebuilds each dependency's description on every request
of Airflow's in-process execution API, because Airflow overrides its auth dependencies there
(`dependants_kept`); the task runner builds a pydantic adapter per rendered field
(`type_adapters_kept`); `dag.test()` parses and writes the unchanged DAG bundle on every call
(`dag_files_parsed_once`, around a series of runs). Each patch is scoped to a `with` block,
keeps what the library returned, and puts the library back on leaving; the DAG tests run
model_health through the first two (tests/dags/conftest.py) and the incident day through the
third. What each saves is in docs/decisions/0018-the-demo-s-minute.md.
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
#: Any base address does for the in-process execution API's transport; this is Airflow's own.
_IN_PROCESS = "http://in-process.invalid./"
#: Libraries the steps import where they are used (so that DAG parsing and light tasks stay
#: quick), which an hour of the demo fleet reaches: the forest, the plots, the drift tests.
LAZY_IMPORTS = (
    "sklearn.ensemble",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "scipy.stats",
    "scipy.special",
)


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


def warm_up() -> None:
    """Pay now, once, what the first hour's tasks would pay on the way: importing the steps
    and the libraries they import where used, Great Expectations' batch definition (kept per
    thread; `dag.test()` runs the tasks in this thread) and Airflow's in-process execution API
    (built on the first task's first request). Nothing of the pipeline is run or written. The
    demo warms up while another process seeds the warehouse and trains the first day, so these
    seconds leave its wall time."""
    import importlib

    import modelwatch.airflow.tasks  # noqa: F401  (the step table and every stage)
    from modelwatch.ingest.gx import frame_batches

    for name in LAZY_IMPORTS:
        importlib.import_module(name)

    frame_batches()
    try:  # Airflow's own cache of the in-process API; a private name, so only if it is there
        from airflow.sdk.execution_time.supervisor import in_process_api_server
    except ImportError:
        return
    import httpx

    # The app, its event loop thread and lifespan, then one request: the first builds the
    # API's versioned routes (about 3.5 s on 2 cores).
    with httpx.Client(transport=in_process_api_server().transport, base_url=_IN_PROCESS) as api:
        api.get("health").raise_for_status()


@contextlib.contextmanager
def _replaced(owner: Any, **replacements: Any) -> Iterator[None]:
    """While inside: `owner`'s attributes named by the keywords are the values given; the
    originals are put back on leaving, however the block ends. The shortcuts below are each a
    replacement of a library function by one that keeps what the original returned."""
    originals = {name: getattr(owner, name) for name in replacements}
    for name, value in replacements.items():
        setattr(owner, name, value)
    try:
        yield
    finally:
        for name, value in originals.items():
            setattr(owner, name, value)


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

    with _replaced(time, sleep=sleep):
        yield cut


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

    with _replaced(jsonschema, validate=validate):
        yield checked


@contextlib.contextmanager
def dependants_kept() -> Iterator[dict[tuple, Any]]:
    """While inside: FastAPI's `get_dependant` returns the dependant it built before for the
    same arguments. Airflow's in-process execution API overrides its auth dependencies, and
    with any override FastAPI rebuilds each sub-dependency's dependant on every request
    (signatures read, pydantic fields made): about a fifth of the API's time per request. A
    dependant is a description of a function's parameters; the same function gives the same
    one. Yields the kept dependants by their arguments."""
    from fastapi.dependencies import utils

    real, kept = utils.get_dependant, {}

    def get_dependant(**kwargs: Any) -> Any:
        try:
            key = tuple(
                (k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(kwargs.items())
            )
            hash(key)
        except TypeError:  # an argument we cannot key on: build it, as FastAPI does
            return real(**kwargs)
        if key not in kept:
            kept[key] = real(**kwargs)
        return kept[key]

    with _replaced(utils, get_dependant=get_dependant):
        yield kept


@contextlib.contextmanager
def type_adapters_kept() -> Iterator[dict[Any, Any]]:
    """While inside: the task runner's `TypeAdapter(t)` is one adapter per type `t`. It builds
    a pydantic adapter of `JsonValue` for every rendered field of every task (a core schema
    generated each time, about 5 ms); an adapter is immutable and made for its type alone, so
    one serves every call. Yields the kept adapters by type."""
    from airflow.sdk.execution_time import task_runner

    real, kept = task_runner.TypeAdapter, {}

    def adapter(kind: Any, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # a configured adapter: not ours to share
            return real(kind, *args, **kwargs)
        try:
            if kind not in kept:
                kept[kind] = real(kind)
            return kept[kind]
        except TypeError:  # an unhashable type expression
            return real(kind)

    with _replaced(task_runner, TypeAdapter=adapter):
        yield kept


@contextlib.contextmanager
def dag_files_parsed_once() -> Iterator[set[tuple[int, str, str | None]]]:
    """While inside (around several `run_hour`): `dag.test()` parses the DAG bundle and writes
    it to the metadata database once, not on every call. It parses and serialises again on
    each call so that DAGs beside the tested one are current (about 0.1 s an hour of the demo);
    the demo's DAG files do not change while it runs. Yields the (bag, bundle, version) synced.
    """
    from airflow.dag_processing import dagbag as module

    real_bag, real_sync = module.BundleDagBag, module.sync_bag_to_db
    bags: dict[tuple, Any] = {}
    synced: set[tuple[int, str, str | None]] = set()

    def bag(*args: Any, **kwargs: Any) -> Any:
        key = (tuple(map(str, args)), tuple(sorted((k, str(v)) for k, v in kwargs.items())))
        if key not in bags:  # kept: its id stays its own while inside
            bags[key] = real_bag(*args, **kwargs)
        return bags[key]

    def sync(dagbag: Any, bundle_name: str, bundle_version: str | None, **kwargs: Any) -> None:
        key = (id(dagbag), bundle_name, bundle_version)
        if key not in synced:
            real_sync(dagbag, bundle_name, bundle_version, **kwargs)
            synced.add(key)

    with _replaced(module, BundleDagBag=bag, sync_bag_to_db=sync):
        yield synced


@contextlib.contextmanager
def in_process_shortcuts() -> Iterator[None]:
    """The shortcuts above that hold for any one `dag.test()` call, all at once."""
    with idle_polls_cut(), schema_checks_once(), dependants_kept(), type_adapters_kept():
        yield


def run_hour(dag: Any, hour: datetime, conf: dict[str, Any]) -> str:
    """Run `dag` for `hour` (naive UTC, its start) with `dag.test()`; the run's final state."""
    with in_process_shortcuts():
        run = dag.test(logical_date=(hour + timedelta(hours=1)).replace(tzinfo=UTC), run_conf=conf)
    return str(getattr(run, "state", "unknown"))
